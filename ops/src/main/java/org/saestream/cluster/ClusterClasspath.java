package org.saestream.cluster;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The class paths of a local cluster's processes, taken from this process's own (the launcher's
 * {@code ops/target/lib}, or the test class path): Kafka runs on all of it; Flink's JobManager and TaskManagers on
 * what a Flink distribution's {@code lib/} would hold (Flink, RocksDB, logging) plus DJL, and nothing a job jar
 * brings (saestream, Kafka clients, the Kafka connector, Avro, Jackson), which would otherwise be loaded twice, and
 * no Parquet.
 */
final class ClusterClasspath {
    /** Jars a job brings in saestream-job.jar, by file name; build directories are saestream's own classes. */
    private static final Pattern JOB_JAR_CONTENT = Pattern.compile("^(schemas|sae-trainer|producers|stream-jobs"
            + "|metrics-sink|ops|e2e-tests|saestream)([-.]).*|^kafka.*|^flink-connector-kafka-.*|^avro-.*|^jackson-.*"
            + "|^picocli-.*|^scala-.*|^snakeyaml-\\d.*|^rocksdbjni-.*|^junit-.*|^opentest4j-.*|^apiguardian-.*"
            // the producers' Parquet reader: parquet-floor's stand-in org.apache.hadoop classes would make Flink
            // believe Hadoop is there
            + "|^parquet-.*");

    private ClusterClasspath() {
    }

    static String all() {
        return String.join(File.pathSeparator, entries());
    }

    static String flink() {
        return String.join(File.pathSeparator, entries().stream().filter(ClusterClasspath::onFlinkClasspath).toList());
    }

    static boolean onFlinkClasspath(String entry) {
        Path path = Path.of(entry);
        return !Files.isDirectory(path) && !JOB_JAR_CONTENT.matcher(path.getFileName().toString()).matches();
    }

    private static List<String> entries() {
        // surefire runs tests from a manifest-only jar; the real class path is in this property
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        return Arrays.stream(classpath.split(File.pathSeparator)).filter(e -> !e.isBlank()).toList();
    }
}
