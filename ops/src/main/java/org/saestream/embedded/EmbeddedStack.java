package org.saestream.embedded;

import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.saestream.flink.Checkpointing;
import org.saestream.flink.SourceRange;
import org.saestream.jobs.SaeJobConfig;
import org.saestream.records.SaeMetrics;
import org.saestream.records.SpectrumMetrics;
import org.saestream.sink.MetricsSink;
import org.saestream.sink.RecordStream;
import org.saestream.sink.SinkConfig;
import org.saestream.sink.SinkTopology;
import org.saestream.sink.SnapshotEntry;
import org.saestream.spectrum.SpectrumJobConfig;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.TopicSpec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The embedded default in this JVM: a KRaft broker, the topics, the metrics sink with its dashboard, and the Flink
 * jobs, started in that order from one {@link Plan} and closed in reverse. Everything lives under the plan's work
 * directory ({@code kafka/}, {@code sink/}, {@code snapshots/}, {@code checkpoints*}/, {@code savepoints/}). Callers
 * follow the run through the sink's own stores ({@link #latest}, {@link #snapshots}), in this JVM, without HTTP.
 */
public final class EmbeddedStack implements AutoCloseable {
    /**
     * What to start.
     *
     * @param workdir    where everything lives
     * @param httpPort   the sink's HTTP port (0: any free one)
     * @param tokenizers model directories whose tokenizer.json the feature browser decodes with
     * @param sources    topics the jobs read, created before the jobs subscribe (producers start after)
     * @param jobs       the Flink jobs, each on its own MiniCluster
     */
    public record Plan(Path workdir, int httpPort, List<Path> tokenizers, List<TopicSpec<?>> sources, List<Job> jobs) {
        public Plan {
            Objects.requireNonNull(workdir, "workdir");
            tokenizers = List.copyOf(tokenizers);
            sources = List.copyOf(sources);
            jobs = List.copyOf(jobs);
        }
    }

    /** A Flink job of the stack. */
    public sealed interface Job permits Training, Spectrum {
        /** Where its checkpoints go, under the work directory. */
        String checkpointDir();

        Duration checkpointInterval();

        List<TopicSpec<?>> outputs();

        /** Starts it on its own MiniCluster over its whole source topic. */
        JobClient start(String bootstrap, Checkpointing checkpointing) throws Exception;
    }

    /** The SAE training job, over its whole source topic. */
    public record Training(SaeJobConfig config, Duration checkpointInterval) implements Job {
        @Override
        public String checkpointDir() {
            return "checkpoints";
        }

        @Override
        public List<TopicSpec<?>> outputs() {
            return config.outputTopics();
        }

        @Override
        public JobClient start(String bootstrap, Checkpointing checkpointing) throws Exception {
            return FlinkRunner.startTraining(config, bootstrap, checkpointing, SourceRange.everything(), 0);
        }
    }

    /** The gradient-spectrum job, over its whole source topic. */
    public record Spectrum(SpectrumJobConfig config, Duration checkpointInterval) implements Job {
        @Override
        public String checkpointDir() {
            return "checkpoints-spectrum";
        }

        @Override
        public List<TopicSpec<?>> outputs() {
            return config.outputTopics();
        }

        @Override
        public JobClient start(String bootstrap, Checkpointing checkpointing) throws Exception {
            return FlinkRunner.startSpectrum(config, bootstrap, checkpointing, SourceRange.everything(), 0);
        }
    }

    private final Plan plan;
    private final EmbeddedKafka kafka;
    private final MetricsSink sink;
    private final List<JobClient> jobs;

    private EmbeddedStack(Plan plan, EmbeddedKafka kafka, MetricsSink sink, List<JobClient> jobs) {
        this.plan = plan;
        this.kafka = kafka;
        this.sink = sink;
        this.jobs = jobs;
    }

    /** Starts broker, topics, sink and jobs; on a failure, stops what had started. */
    public static EmbeddedStack start(Plan plan) throws Exception {
        EmbeddedKafka kafka = EmbeddedKafka.start(plan.workdir().resolve("kafka"));
        MetricsSink sink = null;
        List<JobClient> jobs = new ArrayList<>();
        try {
            String bootstrap = kafka.bootstrapServers();
            List<TopicSpec<?>> topics = new ArrayList<>(SinkTopology.topics());
            topics.addAll(plan.sources());
            plan.jobs().forEach(j -> topics.addAll(j.outputs()));
            try (KafkaAdmin admin = KafkaAdmin.connect(bootstrap, KafkaAdmin.DEFAULT_TIMEOUT)) {
                admin.ensureTopics(topics.stream().distinct().toList(), 1);
            }
            sink = new MetricsSink(SinkConfig.of(bootstrap, plan.workdir().resolve("sink"),
                    plan.workdir().resolve("snapshots"), plan.httpPort()).withTokenizers(plan.tokenizers()));
            sink.start();
            for (Job job : plan.jobs()) {
                Checkpointing checkpointing = Checkpointing.fresh(plan.workdir().resolve(job.checkpointDir()),
                        job.checkpointInterval());
                jobs.add(job.start(bootstrap, checkpointing));
            }
            return new EmbeddedStack(plan, kafka, sink, List.copyOf(jobs));
        } catch (Exception | Error e) {
            new EmbeddedStack(plan, kafka, sink, jobs).close();
            throw e;
        }
    }

    public String bootstrap() {
        return kafka.bootstrapServers();
    }

    /** The dashboard's address. */
    public String dashboardUrl() {
        return "http://127.0.0.1:" + sink.httpPort() + "/";
    }

    public Path workdir() {
        return plan.workdir();
    }

    /** The Flink jobs, in the plan's order. */
    public List<JobClient> jobs() {
        return jobs;
    }

    /** An SAE's newest metrics; empty before the first, and while the sink's stores move (they come back). */
    public Optional<SaeMetrics> latest(String saeKey) {
        return whileQueryable(() -> sink.queries().latest(saeKey), Optional.empty());
    }

    /** An SAE's snapshots in the sink, oldest first. */
    public List<SnapshotEntry> snapshots(String saeKey) {
        return whileQueryable(() -> sink.queries().snapshots(saeKey), List.of());
    }

    /** The snapshot the SAE published at exactly {@code tokens} trained tokens, once the sink has written it. */
    public Optional<SnapshotEntry> snapshotAt(String saeKey, long tokens) {
        return snapshots(saeKey).stream().filter(s -> s.tokensSeen() == tokens).findFirst();
    }

    /** A training run's newest gradient spectrum. */
    public Optional<SpectrumMetrics> latestSpectrum(String run) {
        return whileQueryable(() -> Optional.ofNullable((SpectrumMetrics) sink.queries().latest(RecordStream.SPECTRUM)
                .get(run)), Optional.empty());
    }

    /**
     * Stops every job the way {@code flink stop --drain} does, waiting for each: mixing buffers are flushed and final
     * snapshots published; savepoints go to {@code savepoints/}.
     */
    public void drain() throws Exception {
        String savepoints = plan.workdir().resolve("savepoints").toUri().toString();
        for (JobClient job : jobs) {
            job.stopWithSavepoint(true, savepoints, SavepointFormatType.CANONICAL).get();
        }
    }

    /** Stops the jobs still running, then the sink, then the broker. */
    @Override
    public void close() {
        for (JobClient job : jobs) {
            try {
                if (!job.getJobStatus().get().isTerminalState()) {
                    job.cancel().get();
                }
            } catch (Exception e) {
                // the job's MiniCluster is gone already: nothing left to stop
            }
        }
        if (sink != null) {
            sink.close();
        }
        kafka.close();
    }

    /** Streams refuses queries while it starts or rebalances: the answer is "nothing yet" then, not an error. */
    private static <T> T whileQueryable(Supplier<T> query, T meanwhile) {
        try {
            return query.get();
        } catch (InvalidStateStoreException e) {
            return meanwhile;
        }
    }
}
