package org.saestream.cli;

import ai.djl.ndarray.NDManager;
import org.apache.flink.core.execution.JobClient;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.embedded.FlinkRunner;
import org.saestream.flink.Checkpointing;
import org.saestream.flink.SourceRange;
import org.saestream.jobs.SaeJobConfig;
import org.saestream.produce.ProduceProgress;
import org.saestream.produce.ProduceSummary;
import org.saestream.produce.synthetic.SyntheticConfig;
import org.saestream.produce.synthetic.SyntheticFeatures;
import org.saestream.produce.synthetic.SyntheticProducer;
import org.saestream.produce.synthetic.SyntheticProducerConfig;
import org.saestream.records.Topics;
import org.saestream.sae.SaeConfig;
import org.saestream.sae.SaeTrainer;
import org.saestream.tensor.DType;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.TopicSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * Tokens/s of the bare SAE step, then of the same synthetic data through Kafka + Flink (embedded), and
 * their ratio, all in one run.
 */
@Command(name = "sae", mixinStandardHelpOptions = true,
        description = "Bare SAE step vs the same data through Kafka + Flink; prints tokens/s and their ratio.")
public final class BenchSaeCommand implements Callable<Integer> {
    @Option(names = "--tokens", description = "Tokens per measurement (default: ${DEFAULT-VALUE})")
    long tokens = 1_000_000;

    @Option(names = "--workdir", description = "Working directory (default: a temporary one)")
    Path workdir;

    @Mixin
    SaeOptions sae;

    @Override
    public Integer call() throws Exception {
        SaeConfig config = sae.saeConfig(SaeOptions.Defaults.width(64));
        SyntheticConfig d = SyntheticConfig.defaults();
        SyntheticFeatures features = new SyntheticFeatures(new SyntheticConfig(config.dIn(),
                4 * config.dIn(), d.meanActive(), d.probabilityDecay(), d.noiseStd(), d.seed()));
        System.out.printf(Locale.ROOT, "SAE d_in=%d d_sae=%d batch=%d, %d tokens per measurement%n",
                config.dIn(), config.dSae(), config.batchSize(), tokens);

        double bare = bareTokensPerSecond(config, features);
        System.out.printf(Locale.ROOT, "bare SAE step:            %,.0f tokens/s%n", bare);

        Path dir = workdir != null ? workdir.toAbsolutePath() : Files.createTempDirectory("saestream-bench");
        double streamed = streamedTokensPerSecond(dir, features);
        System.out.printf(Locale.ROOT, "Kafka + Flink (embedded): %,.0f tokens/s%n", streamed);
        System.out.printf(Locale.ROOT, "ratio streamed/bare:      %.3f%n", streamed / bare);
        return 0;
    }

    private double bareTokensPerSecond(SaeConfig config, SyntheticFeatures features) {
        int b = config.batchSize();
        float[] batch = new float[b * config.dIn()];
        try (NDManager manager = NDManager.newBaseManager(); SaeTrainer trainer = new SaeTrainer(config, manager)) {
            for (int i = 0; i < 3; i++) { // warm-up
                features.sample((long) i * b, b, batch);
                trainer.step(batch, b);
            }
            long start = System.nanoTime();
            long done = 0;
            while (done < tokens) {
                features.sample(done, b, batch);
                trainer.step(batch, b);
                done += b;
            }
            return done / ((System.nanoTime() - start) / 1e9);
        }
    }

    private double streamedTokensPerSecond(Path dir, SyntheticFeatures features) throws Exception {
        String run = "bench";
        SaeJobConfig job = sae.jobConfig("bench-" + System.currentTimeMillis(), Topics.activations(run),
                SaeOptions.Defaults.width(64));
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            KafkaAdmin.ensureTopics(bootstrap, 1, job.outputTopics().toArray(TopicSpec<?>[]::new));
            ProduceSummary produced = new SyntheticProducer(new SyntheticProducerConfig(run, bootstrap, tokens, 1024, 16,
                    DType.F32, 1, "bench", 0), features).run(ProduceProgress.NONE);
            System.out.printf(Locale.ROOT, "produced %d tokens into Kafka at %,.0f tokens/s%n", produced.tokens(),
                    produced.tokensPerSecond());
            long start = System.nanoTime();
            JobClient client = FlinkRunner.startTraining(job, bootstrap,
                    Checkpointing.fresh(dir.resolve("checkpoints"), Duration.ofSeconds(5)), SourceRange.upToNow(), 0);
            client.getJobExecutionResult().get();
            return produced.tokens() / ((System.nanoTime() - start) / 1e9);
        }
    }
}
