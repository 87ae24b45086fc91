package dev.vlstm.examples.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The downloader against HTTP servers on the loopback interface that this test starts. */
class DownloaderTest {
    @TempDir
    Path cache;

    HttpServer server;
    String base;
    /** path → behaviour: "ok", "truncate", "404", "corrupt" */
    final Map<String, String> mode = new ConcurrentHashMap<>();
    final Map<String, byte[]> content = new ConcurrentHashMap<>();
    final AtomicInteger requests = new AtomicInteger();
    final List<String> log = new ArrayList<>();

    static byte[] bytes(String s, int repeat) {
        return s.repeat(repeat).getBytes(StandardCharsets.US_ASCII);
    }

    static String sha(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", ex -> {
            requests.incrementAndGet();
            String path = ex.getRequestURI().getPath();
            String name = path.substring(path.lastIndexOf('/') + 1);
            String m = mode.getOrDefault(path.substring(0, path.lastIndexOf('/') + 1) + name, mode.getOrDefault(name, "ok"));
            byte[] body = content.get(name);
            if (body == null || m.equals("404")) {
                ex.sendResponseHeaders(404, -1);
                ex.close();
                return;
            }
            if (m.equals("corrupt")) {
                body = body.clone();
                body[body.length / 2] ^= 1;
            }
            if (m.startsWith("redirect:")) {
                ex.getResponseHeaders().add("Location", m.substring("redirect:".length()));
                ex.sendResponseHeaders(302, -1);
                ex.close();
                return;
            }
            if (m.equals("oversize")) {
                ex.sendResponseHeaders(200, 0);   // chunked: no length announced
                try (OutputStream os = ex.getResponseBody()) {
                    for (int i = 0; i < 64; i++) {
                        os.write(body);
                    }
                } catch (IOException ignored) {
                    // the client hangs up at the cap
                }
                ex.close();
                return;
            }
            if (m.equals("truncate")) {
                ex.sendResponseHeaders(200, body.length);
                try (OutputStream os = ex.getResponseBody()) {
                    os.write(body, 0, body.length / 2);
                    os.flush();
                } catch (IOException ignored) {
                    // the client sees a cut transfer
                }
                ex.close();
                return;
            }
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream os = ex.getResponseBody()) {
                os.write(body);
            }
        });
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private Downloader downloader(String... mirrors) {
        return new Downloader(List.of(mirrors), log::add, java.time.Duration.ofSeconds(2));
    }

    private Downloader.FileSpec spec(String name, byte[] body) throws Exception {
        content.put(name, body);
        return new Downloader.FileSpec(name, body.length, sha(body));
    }

    private void assertCacheHoldsOnly(String... names) throws IOException {
        try (var s = Files.list(cache)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(names);
        }
    }

    @Test
    void goodFilesAreDownloadedVerifiedAndReusedFromTheCache() throws Exception {
        Downloader.FileSpec a = spec("a.gz", bytes("alpha", 20000));
        Downloader.FileSpec b = spec("b.gz", bytes("b", 7));
        downloader(base + "/m1/").fetchAll(cache, List.of(a, b));
        assertThat(Files.readAllBytes(cache.resolve("a.gz"))).isEqualTo(content.get("a.gz"));
        assertCacheHoldsOnly("a.gz", "b.gz");
        int before = requests.get();
        downloader(base + "/m1/").fetchAll(cache, List.of(a, b));
        assertThat(requests.get()).as("second run uses the cache").isEqualTo(before);
    }

    @Test
    void wrongChecksumIsRejectedAndTheNextMirrorUsed() throws Exception {
        Downloader.FileSpec a = spec("a.gz", bytes("xyz", 1000));
        mode.put("/m1/a.gz", "corrupt");
        downloader(base + "/m1/", base + "/m2/").fetch(cache, a);
        assertThat(Files.readAllBytes(cache.resolve("a.gz"))).isEqualTo(content.get("a.gz"));
        assertThat(log).anyMatch(l -> l.contains("SHA-256"));
        assertCacheHoldsOnly("a.gz");
    }

    @Test
    void truncatedBodyNeverReachesTheCache() throws Exception {
        Downloader.FileSpec a = spec("a.gz", bytes("0123456789", 50000));
        mode.put("a.gz", "truncate");
        assertThatThrownBy(() -> downloader(base + "/m1/").fetch(cache, a)).isInstanceOf(IOException.class)
                .hasMessageContaining("a.gz");
        assertCacheHoldsOnly();
    }

    @Test
    void deadFirstMirrorAnd404AreSkipped() throws Exception {
        int dead;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            dead = s.getLocalPort();
        }
        Downloader.FileSpec a = spec("a.gz", bytes("q", 333));
        mode.put("/m404/a.gz", "404");
        downloader("http://127.0.0.1:" + dead + "/", base + "/m404/", base + "/good/").fetch(cache, a);
        assertThat(Files.readAllBytes(cache.resolve("a.gz"))).isEqualTo(content.get("a.gz"));
        assertThat(log).anyMatch(l -> l.contains("connection failed"));
        assertThat(log).anyMatch(l -> l.contains("HTTP 404"));
    }

    @Test
    void allMirrorsFailingReportsEveryFailure() throws Exception {
        Downloader.FileSpec a = spec("a.gz", bytes("q", 10));
        mode.put("a.gz", "404");
        assertThatThrownBy(() -> downloader(base + "/m1/", base + "/m2/").fetch(cache, a))
                .isInstanceOf(IOException.class).hasMessageContaining("m1/a.gz: HTTP 404").hasMessageContaining("m2/a.gz: HTTP 404");
        assertCacheHoldsOnly();
    }

    @Test
    void aBadCachedFileIsReplaced() throws Exception {
        Downloader.FileSpec a = spec("a.gz", bytes("good", 100));
        Files.write(cache.resolve("a.gz"), bytes("evil", 100));
        downloader(base + "/m/").fetch(cache, a);
        assertThat(Files.readAllBytes(cache.resolve("a.gz"))).isEqualTo(content.get("a.gz"));
    }

    @Test
    void onlyHttpsMirrorsExceptLoopbackAndNoPathEscapes() throws Exception {
        assertThatThrownBy(() -> new Downloader(List.of("http://example.com/"), s -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not https");
        assertThatThrownBy(() -> downloader(base + "/").fetch(cache, new Downloader.FileSpec("../x", 1, "00")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void fileNamesCannotLeaveTheCacheNorFollowALinkOut() throws Exception {
        for (String bad : new String[] {"../x", "a/b", ".hidden", "x\\y", "..", "a b", ""}) {
            assertThatThrownBy(() -> downloader(base + "/").fetch(cache, new Downloader.FileSpec(bad, 1, "00")))
                    .as(bad).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot leave the cache folder");
        }
        Path outside = Files.createTempFile("outside", ".gz");
        try {
            Files.createSymbolicLink(cache.resolve("a.gz"), outside);
            Downloader.FileSpec a = spec("a.gz", bytes("good", 100));
            assertThatThrownBy(() -> downloader(base + "/").fetch(cache, a)).hasMessageContaining("is a symbolic link");
            assertThat(Files.size(outside)).isZero();
        } finally {
            Files.deleteIfExists(outside);
        }
        assertThatThrownBy(() -> downloader(base + "/").fetch(cache, new Downloader.FileSpec("huge.gz", 1L << 40, "00")))
                .hasMessageContaining("past the cap");
    }

    @Test
    void aBodyLongerThanExpectedIsCutAtTheCapAndRejected() throws Exception {
        Downloader.FileSpec a = spec("a.gz", bytes("data", 1000));
        mode.put("/big/a.gz", "oversize");
        downloader(base + "/big/", base + "/m/").fetch(cache, a);
        assertThat(log).anyMatch(l -> l.contains("more than the expected 4000 bytes"));
        assertCacheHoldsOnly("a.gz");
    }

    @Test
    void redirectsAreFollowedOnlyToAllowedUrls() throws Exception {
        Downloader.FileSpec a = spec("a.gz", bytes("data", 100));
        mode.put("/r/a.gz", "redirect:/m/a.gz");
        downloader(base + "/r/").fetch(cache, a);
        assertThat(Files.readAllBytes(cache.resolve("a.gz"))).isEqualTo(content.get("a.gz"));
        Files.delete(cache.resolve("a.gz"));
        mode.put("/x/a.gz", "redirect:http://example.com/a.gz");
        assertThatThrownBy(() -> downloader(base + "/x/").fetch(cache, a))
                .hasMessageContaining("redirected to http://example.com/a.gz, which is not https");
        assertCacheHoldsOnly();
    }

    @Test
    void theRealMnistChecksumsAreTheDocumentedOnes() {
        assertThat(Downloader.MNIST).extracting(Downloader.FileSpec::name).containsExactly(
                "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz");
        assertThat(Downloader.MNIST.get(0).size()).isEqualTo(9_912_422L);
        assertThat(Downloader.MIRRORS).allMatch(m -> m.startsWith("https://"));
    }
}
