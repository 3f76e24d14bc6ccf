package org.saestream.cli;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;

/**
 * Checks of what a user gave that a command makes before it creates or starts anything, each failing with an
 * {@link IllegalArgumentException} that names the option and the value.
 */
final class UserInput {
    private UserInput() {
    }

    static void existing(Collection<Path> paths, String option) {
        paths.forEach(p -> existing(p, option));
    }

    static Path existing(Path path, String option) {
        if (!Files.exists(path)) {
            throw new IllegalArgumentException(option + " " + path + ": no such file or directory");
        }
        return path;
    }

    /** A Flink checkpoint ({@code chk-N}) or savepoint directory: one holding {@code _metadata}. */
    static Path restorePoint(Path path, String option) {
        existing(path, option);
        if (!Files.isRegularFile(path.resolve("_metadata"))) {
            throw new IllegalArgumentException(option + " " + path + " is not a checkpoint or savepoint directory "
                    + "(no _metadata in it; give a chk-N or savepoint-* directory)");
        }
        return path;
    }

    /** A port this command is about to serve on must be free now (0 picks any free port and always is). */
    static void freePort(String host, int port, String option) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(option + " " + port + " is not a port (0..65535)");
        }
        if (port == 0) {
            return;
        }
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getByName(host))) {
            s.setReuseAddress(true);
        } catch (IOException e) {
            throw new IllegalArgumentException(option + " " + port + " on " + host + " is not free (" + e.getMessage()
                    + "); choose another port", e);
        }
    }
}
