package dev.vlstm;

import java.io.IOException;
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
     * samples' count, the allocated class, the innermost frame and the innermost frame of vlstm.
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
                if (e.getStackTrace() == null) {
                    continue;
                }
                List<RecordedFrame> frames = e.getStackTrace().getFrames();
                String top = frames.isEmpty() ? "?" : frame(frames.get(0));
                String ours = frames.stream().filter(f -> f.getMethod().getType().getName().startsWith("dev.vlstm."))
                        .findFirst().map(AllocationSites::frame).orElse("?");
                String key = e.getClass("objectClass").getName() + " at " + top + " from " + ours;
                samples.merge(key, 1L, Long::sum);
            }
            return samples.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(8)
                    .map(en -> en.getValue() + " samples: " + en.getKey()).collect(Collectors.joining("\n  ", "\n  ", ""));
        } catch (IOException | RuntimeException e) {
            return " (no allocation samples: " + e + ")";
        } finally {
            if (file != null) {
                file.toFile().delete();
            }
        }
    }

    private static String frame(RecordedFrame f) {
        return f.getMethod().getType().getName() + "." + f.getMethod().getName() + ":" + f.getLineNumber()
                + (f.getType() == null ? "" : " [" + f.getType() + "]");
    }
}
