package dev.vlstm.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vlstm.examples.tools.SubnormalScan;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class SubnormalScanTest {
    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int code = new CommandLine(new SubnormalScan()).execute(args);
            return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    void printsAnEpochLineAndEveryKindOfOutput() throws Exception {
        Path data = CliTest.makeData(dir, 256, 64, false);
        Run r = run("--data", data.toString(), "--epochs", "2", "--batch", "32", "--hidden", "8", "--limit", "32");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("32 examples, 8 steps of 6, H=8, B=32, 1 batches per epoch")
                .contains("epoch   1  cost ").contains("epoch   2  cost ")
                .contains("all epochs, per kind: subnormal values / values written");
        // 2 epochs × 1 batch × 8 steps × 32 samples × 8 units: every cell output was counted
        assertThat(r.out()).containsPattern("lstmCell c +\\d+ / 4096 ");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void badArgumentsAndMissingDataAreOneLine() {
        Run r = run("--data", dir.toString(), "--batch", "0");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("subnormal-scan: --batch must be at least 1, was 0");
        Run missing = run("--data", dir.resolve("nowhere").toString());
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err().strip()).startsWith("subnormal-scan: ").doesNotContain("\n");
    }
}
