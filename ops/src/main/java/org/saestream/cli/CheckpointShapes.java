package org.saestream.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.saestream.jobs.SaeJobConfig;
import org.saestream.sae.SaeConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The shapes of the SAEs a training job's checkpoints hold, written beside the checkpoints when the job starts
 * fresh ({@value #FILE}), so that {@code train --restore} can refuse options that do not fit the state before
 * it creates a topic or starts a job. Flink's own checkpoint files hold the state in RocksDB form, which cannot
 * be read without starting the job; the operator would only find the mismatch when data arrives.
 */
final class CheckpointShapes {
    static final String FILE = "train.json";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A restore point sits at most this deep under its checkpoint directory (job id/chk-N, savepoints/savepoint-x). */
    private static final int MAX_DEPTH = 3;

    private CheckpointShapes() {
    }

    /** Records the job's SAE shapes in {@code checkpointDir}. */
    static void write(Path checkpointDir, SaeJobConfig job) {
        ObjectNode root = JSON.createObjectNode();
        root.put("experiment", job.experiment());
        root.put("source_topic", job.sourceTopic());
        var saes = root.putArray("saes");
        shapes(job).forEach(saes::add);
        try {
            Files.createDirectories(checkpointDir);
            Files.writeString(checkpointDir.resolve(FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root),
                    StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + checkpointDir.resolve(FILE), e);
        }
    }

    /**
     * Fails, naming both shapes, when the checkpoint directory above {@code restorePoint} recorded SAEs other than
     * the job's. Returns false when nothing was recorded there (a checkpoint of an older saestream): then the
     * operator finds a mismatch only when it restores.
     */
    static boolean check(Path restorePoint, SaeJobConfig job) {
        Optional<Path> file = find(restorePoint);
        if (file.isEmpty()) {
            return false;
        }
        JsonNode recorded;
        try {
            recorded = JSON.readTree(file.get().toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file.get() + " (what --restore " + restorePoint
                    + " holds): " + e.getMessage(), e);
        }
        List<String> was = new ArrayList<>();
        recorded.path("saes").forEach(n -> was.add(n.asText()));
        List<String> now = shapes(job);
        if (!was.equals(now)) {
            throw new IllegalArgumentException("--restore " + restorePoint + " holds " + String.join("; ", was)
                    + " (" + file.get() + "), but the options give " + String.join("; ", now)
                    + ": restore with the same SAE options, or start a new experiment");
        }
        String topic = recorded.path("source_topic").asText();
        if (!topic.equals(job.sourceTopic())) {
            throw new IllegalArgumentException("--restore " + restorePoint + " was trained on " + topic + ", not "
                    + job.sourceTopic());
        }
        return true;
    }

    private static List<String> shapes(SaeJobConfig job) {
        return job.saes().stream().map(CheckpointShapes::shape).toList();
    }

    /** e.g. {@code relu-512: ReluL1, d_in 64, d_sae 512}. */
    private static String shape(SaeConfig sae) {
        return sae.saeId() + ": " + sae.architecture().getClass().getSimpleName() + ", d_in " + sae.dIn() + ", d_sae "
                + sae.dSae();
    }

    private static Optional<Path> find(Path restorePoint) {
        Path dir = restorePoint.toAbsolutePath().normalize();
        for (int i = 0; i <= MAX_DEPTH && dir != null; i++, dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve(FILE))) {
                return Optional.of(dir.resolve(FILE));
            }
        }
        return Optional.empty();
    }
}
