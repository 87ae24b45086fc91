package dev.vlstm.examples.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Fetches the four original MNIST files into a cache folder, trying mirrors in turn. Each file is
 * streamed to a temporary file in the cache, its size capped at the expected size, and renamed to
 * its final name only after its size and SHA-256 match; a cut or corrupt download never lands in
 * the cache. A cached file is re-verified before use.
 */
public final class Downloader {

    /**
     * One expected file.
     *
     * @param name   file name in the cache (also the name on the mirror)
     * @param size   exact size in bytes
     * @param sha256 lowercase hex SHA-256
     */
    public record FileSpec(String name, long size, String sha256) {
    }

    /** The original MNIST files. */
    public static final List<FileSpec> MNIST = List.of(
            new FileSpec("train-images-idx3-ubyte.gz", 9_912_422L,
                    "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
            new FileSpec("train-labels-idx1-ubyte.gz", 28_881L,
                    "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
            new FileSpec("t10k-images-idx3-ubyte.gz", 1_648_877L,
                    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
            new FileSpec("t10k-labels-idx1-ubyte.gz", 4_542L,
                    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"));

    /** The default mirrors, tried in order. */
    public static final List<String> MIRRORS = List.of(
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "https://ossci-datasets.s3.amazonaws.com/mnist/");

    private final List<String> mirrors;
    private final Consumer<String> log;
    private final Duration stall;

    /**
     * @param mirrors base URLs ending in '/', tried in order; https only, except http to the
     *                loopback interface (for tests)
     * @param log     receives one line per attempt
     */
    public Downloader(List<String> mirrors, Consumer<String> log) {
        this(mirrors, log, Duration.ofSeconds(30));
    }

    /**
     * @param mirrors base URLs ending in '/', tried in order; https only, except http to the
     *                loopback interface (for tests)
     * @param log     receives one line per attempt
     * @param stall   give up on a mirror when connecting, or any read, takes longer than this
     */
    public Downloader(List<String> mirrors, Consumer<String> log, Duration stall) {
        for (String m : mirrors) {
            if (!allowed(URI.create(m))) {
                throw new IllegalArgumentException("mirror " + m + " is not https");
            }
        }
        this.mirrors = List.copyOf(mirrors);
        this.log = log;
        this.stall = stall;
    }

    /** Largest file this downloader accepts to fetch (the biggest MNIST file is 9.9 MB). */
    public static final long MAX_FILE = 1L << 30;

    /** https anywhere; plain http only to the loopback interface (the tests' local server). */
    static boolean allowed(URI u) {
        boolean loopback = "http".equals(u.getScheme())
                && ("127.0.0.1".equals(u.getHost()) || "localhost".equals(u.getHost()) || "[::1]".equals(u.getHost()));
        return "https".equals(u.getScheme()) || loopback;
    }

    /**
     * The cache folder: {@code $XDG_CACHE_HOME/vlstm}, else {@code ~/.cache/vlstm}.
     *
     * @return the default cache folder
     */
    public static Path defaultCache() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "vlstm");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "vlstm");
    }

    /**
     * Makes sure every file is in {@code cache} and verified, downloading what is missing.
     *
     * @param cache the cache folder (created if needed)
     * @param files the files
     * @throws IOException naming the file and every mirror's failure when one cannot be had
     */
    public void fetchAll(Path cache, List<FileSpec> files) throws IOException {
        Files.createDirectories(cache);
        for (FileSpec f : files) {
            fetch(cache, f);
        }
    }

    /**
     * Makes sure one file is in the cache and verified.
     *
     * @param cache the cache folder
     * @param f     the file
     * @return its path
     * @throws IOException when no mirror delivers a good copy
     */
    public Path fetch(Path cache, FileSpec f) throws IOException {
        if (!f.name().matches("[A-Za-z0-9._-]+") || f.name().startsWith(".")) {
            throw new IllegalArgumentException("bad file name " + f.name() + ": only letters, digits, '.', '_' and '-',"
                    + " not starting with '.', so that it cannot leave the cache folder");
        }
        if (f.size() < 0 || f.size() > MAX_FILE) {
            throw new IllegalArgumentException(f.name() + ": size " + f.size() + " is past the cap of " + MAX_FILE + " bytes");
        }
        Path dir = cache.toAbsolutePath().normalize();
        Path target = dir.resolve(f.name()).normalize();
        if (!dir.equals(target.getParent())) {
            throw new IllegalArgumentException("file name " + f.name() + " leaves the cache folder " + dir);
        }
        if (Files.isSymbolicLink(target)) {
            throw new IOException(target + " is a symbolic link; the cache holds only files it wrote (remove the link)");
        }
        if (Files.isRegularFile(target)) {
            String problem = verify(target, f);
            if (problem == null) {
                return target;
            }
            log.accept(f.name() + ": cached copy is bad (" + problem + "), downloading again");
            Files.delete(target);
        }
        List<String> failures = new ArrayList<>();
        for (String mirror : mirrors) {
            String url = mirror + f.name();
            Path tmp = Files.createTempFile(cache, "." + f.name(), ".part");
            try {
                log.accept("downloading " + url);
                String problem = download(url, tmp, f);
                if (problem == null) {
                    problem = verify(tmp, f);
                }
                if (problem == null) {
                    try {
                        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    } catch (java.nio.file.AtomicMoveNotSupportedException e) {
                        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                    }
                    return target;
                }
                failures.add(url + ": " + problem);
                log.accept("  failed: " + problem);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        throw new IOException("could not download " + f.name() + " from any mirror: " + String.join("; ", failures));
    }

    /** Streams url into tmp, at most f.size() bytes; returns a problem or null. */
    private String download(String url, Path tmp, FileSpec f) throws IOException {
        HttpURLConnection con;
        long n = 0;
        try {
            URI uri = URI.create(url);
            for (int hop = 0; ; hop++) {
                con = (HttpURLConnection) uri.toURL().openConnection();
                con.setConnectTimeout((int) stall.toMillis());
                con.setReadTimeout((int) stall.toMillis());
                con.setInstanceFollowRedirects(false);   // each redirect is checked below
                int status = con.getResponseCode();
                if (status >= 300 && status < 400 && con.getHeaderField("Location") != null) {
                    URI next = uri.resolve(con.getHeaderField("Location"));
                    con.disconnect();
                    if (!allowed(next)) {
                        return "redirected to " + next + ", which is not https";
                    }
                    if (hop >= 5) {
                        return "more than 5 redirects";
                    }
                    uri = next;
                    continue;
                }
                if (status != 200) {
                    con.disconnect();
                    return "HTTP " + status;
                }
                break;
            }
        } catch (IOException | IllegalArgumentException e) {
            return "connection failed (" + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")";
        }
        try (InputStream in = con.getInputStream(); OutputStream out = Files.newOutputStream(tmp)) {
            long declared = con.getContentLengthLong();
            if (declared >= 0 && declared != f.size()) {
                return "server announces " + declared + " bytes, expected " + f.size();
            }
            byte[] buf = new byte[1 << 16];
            int r;
            while ((r = in.read(buf)) >= 0) {
                n += r;
                if (n > f.size()) {
                    return "more than the expected " + f.size() + " bytes";
                }
                out.write(buf, 0, r);
            }
            return null;
        } catch (IOException e) {
            return "transfer cut after " + n + " bytes (" + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")";
        } finally {
            con.disconnect();
        }
    }

    /** Returns null when the file has the expected size and SHA-256, else the problem. */
    static String verify(Path file, FileSpec f) throws IOException {
        long size = Files.size(file);
        if (size != f.size()) {
            return "size " + size + " bytes, expected " + f.size();
        }
        String sha = sha256(file);
        if (!sha.equals(f.sha256().toLowerCase(Locale.ROOT))) {
            return "SHA-256 " + sha + ", expected " + f.sha256();
        }
        return null;
    }

    static String sha256(Path file) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            try (InputStream in = Files.newInputStream(file)) {
                byte[] buf = new byte[1 << 16];
                int r;
                while ((r = in.read(buf)) >= 0) {
                    md.update(buf, 0, r);
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
