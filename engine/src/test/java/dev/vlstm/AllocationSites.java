package dev.vlstm;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

/**
 * For an allocation test that failed: where the allocations come from, from JFR's allocation
 * samples while some work runs again. It names the sites in the failure message; it decides
 * nothing (a sample is not every allocation).
 */
final class AllocationSites {
    private AllocationSites() {
    }

    /**
     * Runs {@code work} under a recording and returns the most sampled sites, one per line: the
     * samples' count, the allocated class, and every frame from the allocation to the innermost of vlstm.
     * (Counts, not JFR's byte weights: a thread's first sample weighs everything it allocated
     * before the recording.)
     */
    static String of(Runnable work) {
        Path file = null;
        try {
            file = Files.createTempFile("vlstm-alloc", ".jfr");
            try (Recording r = new Recording()) {
                r.enable("jdk.ObjectAllocationSample").with("throttle", "10000/s").withStackTrace();
                r.start();
                work.run();
                r.stop();
                r.dump(file);
            }
            Map<String, Long> samples = new HashMap<>();
            for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
                if (!e.getEventType().getName().equals("jdk.ObjectAllocationSample") || e.getStackTrace() == null) {
                    continue;
                }
                List<RecordedFrame> frames = e.getStackTrace().getFrames();
                // every frame from the allocation to the innermost of vlstm: shows which call C2
                // did not inline (a [JIT compiled] frame above vlstm's)
                StringBuilder chain = new StringBuilder();
                for (RecordedFrame f : frames) {
                    chain.append(chain.length() == 0 ? "" : " < ").append(frame(f));
                    if (f.getMethod().getType().getName().startsWith("dev.vlstm.")) {
                        break;
                    }
                }
                String key = e.getClass("objectClass").getName() + " at " + chain;
                samples.merge(key, 1L, Long::sum);
            }
            return samples.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(6)
                    .map(en -> en.getValue() + " samples: " + en.getKey()).collect(Collectors.joining("\n  ", "\n  ", ""));
        } catch (IOException | RuntimeException e) {
            return " (no allocation samples: " + e + ")";
        } finally {
            if (file != null) {
                file.toFile().delete();
            }
        }
    }

    /** The machine and JVM, for a failure seen only elsewhere: CPU model, processors, JVM and its flags. */
    static String machine() {
        String cpu = "?";
        try {
            cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                    .filter(l -> l.startsWith("model name") || l.startsWith("cpu family") || l.startsWith("model\t"))
                    .limit(3).map(l -> l.replaceAll("\\s+", " ")).collect(Collectors.joining(", "));
        } catch (IOException | RuntimeException e) {
            // not Linux: unknown
        }
        return "\n  machine: " + cpu + "; " + Runtime.getRuntime().availableProcessors() + " processors; "
                + System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version") + "; flags "
                + ManagementFactory.getRuntimeMXBean().getInputArguments();
    }

    private static String frame(RecordedFrame f) {
        return f.getMethod().getType().getName() + "." + f.getMethod().getName() + ":" + f.getLineNumber()
                + (f.getType() == null ? "" : " [" + f.getType() + "]");
    }
}
