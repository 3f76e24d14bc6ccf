package org.saestream.cluster;

import org.saestream.jobs.SaeTrainingJob;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Finds saestream-job.jar, the jar a session cluster runs the jobs from (Maven builds it in
 * {@code stream-jobs/target/}): the one given, else next to the stream-jobs classes this process runs, else under
 * the installation ({@code -Dsaestream.home}).
 */
public final class JobJar {
    public static final String FILE = "saestream-job.jar";

    private JobJar() {
    }

    public static Path locate(Path given) {
        if (given != null) {
            if (!Files.isRegularFile(given)) {
                throw new IllegalArgumentException("--job-jar " + given + ": no such file");
            }
            return given.toAbsolutePath();
        }
        List<Path> tried = new ArrayList<>();
        for (Path candidate : candidates()) {
            if (Files.isRegularFile(candidate)) {
                return candidate.toAbsolutePath();
            }
            tried.add(candidate);
        }
        throw new IllegalArgumentException("no " + FILE + " found (looked at " + tried + "): build it with "
                + "`mvn -B -DskipTests install` in the saestream directory, or give --job-jar");
    }

    private static List<Path> candidates() {
        List<Path> found = new ArrayList<>();
        codeSource().ifPresent(source -> {
            // .../stream-jobs/target/classes (a build tree) or .../stream-jobs/target/stream-jobs-<v>.jar
            Path target = source.getParent();
            if (target != null) {
                found.add(target.resolve(FILE));
            }
        });
        String home = System.getProperty("saestream.home");
        if (home != null) {
            found.add(Path.of(home, "stream-jobs", "target", FILE));
        }
        found.add(Path.of("stream-jobs", "target", FILE));
        return found;
    }

    private static Optional<Path> codeSource() {
        try {
            var source = SaeTrainingJob.class.getProtectionDomain().getCodeSource();
            return source == null ? Optional.empty() : Optional.of(Path.of(source.getLocation().toURI()));
        } catch (URISyntaxException | SecurityException e) {
            return Optional.empty();
        }
    }
}
