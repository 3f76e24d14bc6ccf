package org.saestream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.core.execution.JobClient;
import org.saestream.cluster.FlinkTarget;
import org.saestream.embedded.FlinkRunner;
import org.saestream.flink.SourceRange;
import org.saestream.jobs.ExperimentFile;
import org.saestream.jobs.ReplayRange;
import org.saestream.jobs.SaeJobConfig;
import org.saestream.records.Topics;
import org.saestream.topics.KafkaAdmin;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * Trains a new experiment on a retained activation topic, without running the model again. The
 * experiment owns a state directory (checkpoints, savepoints, what it was started with); run the same
 * command again after a stop or a crash and it resumes from the newest checkpoint or savepoint, which
 * holds the Kafka offsets together with every SAE's state, so no token is repeated or skipped.
 */
@Command(name = "replay", mixinStandardHelpOptions = true,
        description = "Train an experiment (SAE ensemble from --config) on a retained activations topic; "
                + "rerun to resume after a stop or crash.")
public final class ReplayCommand implements Callable<Integer> {
    /** An empty topic is not worth a long wait: the first record only names where the activations came from. */
    private static final Duration FIRST_RECORD_WAIT = Duration.ofSeconds(2);

    private static final ObjectMapper JSON = new ObjectMapper();
    static final String STARTED_WITH = "experiment.json";

    @ArgGroup(exclusive = false, multiplicity = "1")
    KafkaTarget cluster;

    @Option(names = "--topic", required = true, description = "The topic to replay, e.g. activations.<run>")
    String topic;

    @Option(names = "--experiment", required = true, description = "Name of the new experiment ([A-Za-z0-9._-])")
    String experiment;

    @Option(names = "--config", required = true, description = "Experiment file (YAML or JSON) listing the SAEs")
    Path config;

    @Option(names = "--from", description = "Where to start: earliest, latest, an ISO-8601 time, or "
            + "partition:offset,... (default: earliest; ignored when resuming)")
    String from;

    @Option(names = "--until", description = "Where to end (exclusive): latest (the end when the job starts), an "
            + "ISO-8601 time, or partition:offset,...; without it the replay keeps following the topic")
    String until;

    @Option(names = "--epochs", description = "Passes over the range (needs --until), each in a fresh shuffle: "
            + "repeated-data experiments; every token is trained once per pass (default: the file's epochs, else 1)")
    Integer epochs;

    @Option(names = "--state-dir", description = "The experiment's checkpoints and savepoints "
            + "(default: work/experiments/<experiment>)")
    Path stateDir;

    @Mixin
    FlinkOptions flink;

    @Override
    public Integer call() throws Exception {
        Topics.requireName(experiment, "--experiment");
        ExperimentFile.Plan plan = ExperimentFile.read(config); // fails before anything starts
        SaeJobConfig fromFile = plan.jobConfig(experiment, topic);
        ReplayRange.start(from, topic); // a mistake in --from fails before anything starts
        int passes = epochs != null ? epochs : plan.epochs();
        if (passes < 1) {
            throw new IllegalArgumentException("--epochs must be at least 1, got " + passes);
        }
        Path dir = (stateDir != null ? stateDir : Path.of("work", "experiments", experiment)).toAbsolutePath();
        Path checkpoints = dir.resolve("checkpoints");
        Optional<Path> resumeFrom = FlinkRunner.latestRestorePoint(checkpoints);
        String configDigest = sha256(Files.readAllBytes(config));
        if (passes > 1 && until == null && resumeFrom.isEmpty()) {
            throw new IllegalArgumentException("--epochs " + passes + " needs --until: a pass over a topic that is "
                    + "still followed never ends");
        }
        FlinkTarget target = flink.target(8081);
        try (KafkaTarget.Connection kafka = cluster.connect()) {
            // what the file does not say of the activations' origin, the topic's first record does (for snapshots)
            SaeJobConfig job = plan.activationSource() != null ? fromFile : fromFile.withActivationSource(
                    FirstBlock.of(kafka.client(), topic, fromFile.hookName(), FIRST_RECORD_WAIT)
                            .map(FirstBlock::activationSource).orElse(null));
            Started started = checkStartedWith(dir, configDigest, resumeFrom.isPresent(), passes, kafka);
            String effectiveUntil = started.until();
            SourceRange range = ReplayRange.of(started.from(), effectiveUntil, topic).withEpochs(started.epochs());
            kafka.ensureTopics(job.outputTopics(), 1);
            resumeFrom.ifPresentOrElse(
                    p -> System.out.println("resuming experiment " + experiment + " from " + p),
                    () -> System.out.println("starting experiment " + experiment + " on " + topic + " from "
                            + (from == null ? "earliest" : from) + (effectiveUntil == null ? " (following the topic)"
                            : " until " + effectiveUntil) + (started.epochs() == 1 ? ""
                            : ", " + started.epochs() + " passes over offsets " + started.from() + " to "
                            + effectiveUntil)));
            System.out.println(job.saes().size() + " SAEs in " + job.groups().size() + " groups, state in " + dir);
            JobClient client = FlinkRunner.startTraining(job, kafka.client(), flink.checkpointing(checkpoints, resumeFrom), range, target);
            if (flink.report(client, target, "replay of experiment " + experiment + " (stopped, it resumes where it stood)",
                    false)) {
                System.out.println("replay of experiment " + experiment + " ended");
            }
        }
        return 0;
    }

    /** The range a run reads: --from and --until (as offsets when there are several passes), and the passes. */
    private record Started(String from, String until, int epochs) {
    }

    /**
     * Records what a fresh experiment was started with; on resume refuses a different experiment file, end or number
     * of passes, since the state belongs to the old one. Several passes pin the range to offsets first, so every pass
     * (and a resumed run) reads the same records however the topic grows.
     */
    private Started checkStartedWith(Path dir, String configDigest, boolean resuming, int passes,
                                     KafkaTarget.Connection kafka) throws IOException {
        Path file = dir.resolve(STARTED_WITH);
        if (resuming && Files.exists(file)) {
            var was = JSON.readTree(file.toFile());
            if (!was.path("config_sha256").asText().equals(configDigest)) {
                throw new IllegalArgumentException("experiment " + experiment + " in " + dir + " was started with another "
                        + "experiment file (" + was.path("config").asText() + "); use a new --experiment name");
            }
            if (!was.path("topic").asText().equals(topic)) {
                throw new IllegalArgumentException("experiment " + experiment + " was started on topic "
                        + was.path("topic").asText() + ", not " + topic);
            }
            String wasUntil = was.path("until").isNull() || was.path("until").isMissingNode() ? null
                    : was.path("until").asText();
            if (until != null && !Objects.equals(until, wasUntil)) {
                throw new IllegalArgumentException("experiment " + experiment + " was started with --until " + wasUntil
                        + "; a resumed experiment keeps its range");
            }
            int wasEpochs = was.path("epochs").asInt(1);
            if (epochs != null && epochs != wasEpochs) {
                throw new IllegalArgumentException("experiment " + experiment + " was started with --epochs " + wasEpochs
                        + "; a resumed experiment keeps its passes");
            }
            return wasEpochs == 1 ? new Started(from, wasUntil, 1)
                    : new Started(was.path("from_offsets").asText(), was.path("until_offsets").asText(), wasEpochs);
        }
        ReplayRange.Pinned pinned = passes == 1 ? null
                : ReplayRange.pin(kafka.client(), topic, from, until, KafkaAdmin.DEFAULT_TIMEOUT);
        Files.createDirectories(dir);
        ObjectNode started = JSON.createObjectNode();
        started.put("experiment", experiment);
        started.put("topic", topic);
        started.put("config", config.toAbsolutePath().toString());
        started.put("config_sha256", configDigest);
        started.put("from", from == null ? "earliest" : from);
        if (until == null) {
            started.putNull("until");
        } else {
            started.put("until", until);
        }
        started.put("epochs", passes);
        if (pinned != null) {
            started.put("from_offsets", pinned.from());
            started.put("until_offsets", pinned.until());
        }
        Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(started), StandardCharsets.UTF_8);
        return pinned == null ? new Started(from, until, 1) : new Started(pinned.from(), pinned.until(), passes);
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
