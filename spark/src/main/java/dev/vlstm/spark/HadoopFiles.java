package dev.vlstm.spark;

import java.io.IOException;
import java.nio.file.Files;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Moves vlstm's model files (written and read by the engine on local paths) to and from any
 * Hadoop file system, so that models and checkpoints can live on HDFS, S3 or a local folder.
 */
final class HadoopFiles {
    private HadoopFiles() {
    }

    /**
     * Copies a local file to {@code dest}: first to {@code dest + ".tmp"}, then renamed, so that a
     * reader never sees a partial file (rename is atomic on HDFS and local file systems).
     */
    static void upload(Configuration conf, java.nio.file.Path local, Path dest) throws IOException {
        FileSystem fs = dest.getFileSystem(conf);
        Path tmp = new Path(dest.getParent(), dest.getName() + ".tmp");
        fs.mkdirs(dest.getParent());
        fs.copyFromLocalFile(false, true, new Path(local.toUri()), tmp);
        if (fs.exists(dest) && !fs.delete(dest, false)) {
            throw new IOException("cannot replace " + dest);
        }
        if (!fs.rename(tmp, dest)) {
            throw new IOException("cannot rename " + tmp + " to " + dest);
        }
        // the local file system writes a .crc beside each file; a renamed file keeps its own
    }

    /** Copies {@code src} to a new local temporary file (the caller deletes it). */
    static java.nio.file.Path download(Configuration conf, Path src) throws IOException {
        FileSystem fs = src.getFileSystem(conf);
        if (!fs.exists(src)) {
            throw new IOException(src + " does not exist");
        }
        java.nio.file.Path local = Files.createTempFile("vlstm-", "-" + src.getName());
        Files.delete(local);
        fs.copyToLocalFile(false, src, new Path(local.toUri()), true);
        return local;
    }
}
