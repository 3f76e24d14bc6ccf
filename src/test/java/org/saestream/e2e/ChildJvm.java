package org.saestream.e2e;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Starts the saestream command line in a separate JVM, so a test can kill it with SIGKILL. */
final class ChildJvm {
    private ChildJvm() {
    }

    static Process start(Path log, String... args) throws IOException {
        return start(log, java.util.Map.of(), args);
    }

    /** With these environment variables set as well (e.g. DJL's PYTORCH_LIBRARY_PATH). */
    static Process start(Path log, java.util.Map<String, String> env, String... args) throws IOException {
        // surefire runs tests from a manifest-only jar; the real test class path is in this property
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx2g", "-Dai.djl.offline=true",
                "-DDJL_CACHE_DIR=" + System.getProperty("DJL_CACHE_DIR", ""),
                "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.lang=ALL-UNNAMED",
                "-cp", classpath, "org.saestream.cli.Main"));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().put("OPT_OUT_TRACKING", "true");
        pb.environment().put("DJL_OFFLINE", "true");
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        pb.environment().putAll(env);
        return pb.start();
    }
}
