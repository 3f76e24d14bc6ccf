package org.saestream.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.embedded.FlinkRunner;
import org.saestream.flink.Checkpointing;
import org.saestream.flink.SourceRange;
import org.saestream.jobs.SaeJobConfig;
import org.saestream.records.Topics;
import org.saestream.sink.MetricsSink;
import org.saestream.sink.SinkConfig;
import org.saestream.spectrum.SpectrumJobConfig;
import org.saestream.topics.TopicCatalog;
import org.saestream.topics.TopicSpec;
import org.saestream.train.TrainConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * `saestream demo --train-live`: trains a fresh copy of the default model while both analysis streams
 * watch it. Every step publishes a gradient sketch to gradients.&lt;run&gt; (the spectrum job tracks its
 * singular values and effective rank) and the activations of its own forward pass at one hook to
 * activations.&lt;run&gt; (an SAE learns the model's features as they form, with drift windows short
 * enough to see them change); the sink serves all of it on the dashboard.
 */
final class TrainLiveDemo {
    private final DemoCommand options;
    private final Path dir;

    TrainLiveDemo(DemoCommand options, Path dir) {
        this.options = options;
        this.dir = dir;
    }

    int run() throws Exception {
        Files.createDirectories(dir);
        Path configFile = Shipped.resolve(options.trainConfig);
        TrainConfig config = TrainLmCommand.readConfig(configFile).withStepsScaled(options.trainSteps);
        Path out = dir.resolve("model");
        int width = ((TrainConfig.FromConfig) config.model()).config().path("hidden_size").asInt();
        String modelId = out.getFileName().toString();
        SaeJobConfig job = LmDemo.saeJob(options, width, modelId);
        String saeKey = job.saeKey(job.saes().get(0).saeId());
        SpectrumJobConfig spectrum = SpectrumJobConfig.forRun(options.run).withPublishEvery(options.spectrumEvery);
        Progress clock = new Progress();
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            List<TopicSpec> outputs = new ArrayList<>(job.outputTopics());
            outputs.addAll(spectrum.outputTopics());
            EmbeddedTopics.create(bootstrap, outputs, TopicCatalog.activations(options.run),
                    TopicCatalog.gradients(options.run));
            System.out.println("saestream demo --train-live: workdir " + dir);
            System.out.println("kafka      " + bootstrap + " (KRaft, in this JVM)");
            SinkConfig sinkConfig = SinkConfig.of(bootstrap, dir.resolve("sink"), dir.resolve("snapshots"), options.httpPort)
                    .withTokenizers(List.of(config.tokenizer()));
            try (MetricsSink sink = new MetricsSink(sinkConfig)) {
                sink.start();
                SinkClient api = new SinkClient("127.0.0.1", sink.httpPort());
                System.out.println("dashboard  " + api.baseUrl() + "/");
                JobClient sae = FlinkRunner.startTraining(job, bootstrap,
                        Checkpointing.fresh(dir.resolve("checkpoints-sae"), Duration.ofSeconds(2)),
                        SourceRange.everything(), 0);
                JobClient spectra = FlinkRunner.startSpectrum(spectrum, bootstrap,
                        Checkpointing.fresh(dir.resolve("checkpoints-spectrum"), Duration.ofSeconds(2)),
                        SourceRange.everything(), 0);
                System.out.println("flink      SAE job " + sae.getJobID() + " on " + job.sourceTopic() + " (" + options.lmHook
                        + "), spectrum job " + spectra.getJobID() + " on " + Topics.gradients(options.run));

                // the trainer runs in its own JVM, as it would beside a cluster: one process per PyTorch user
                // (in one JVM with the Flink jobs' SAE arithmetic, a few steps came out with non-finite gradients)
                Process trainer = startTrainer(configFile, config, out, bootstrap);
                long lastPrint = 0;
                while (trainer.isAlive()) {
                    Thread.sleep(500);
                    if (System.nanoTime() - lastPrint > 5_000_000_000L) {
                        lastPrint = System.nanoTime();
                        JsonNode m = api.latest(saeKey).orElse(null);
                        JsonNode s = lastSpectrum(api);
                        System.out.printf(Locale.ROOT, "[%5.0fs] SAE %s: trained %s tokens, fvu %s, L0 %s, self-sim %s |"
                                        + " spectrum: %s%n", clock.elapsedSeconds(), saeKey,
                                m == null ? "0" : Progress.count(m.path("tokens_seen").asLong()),
                                DemoCommand.field(m, "fvu", "%.3f"), DemoCommand.field(m, "l0", "%.1f"),
                                DemoCommand.field(m, "self_similarity_mean", "%.3f"),
                                s == null ? "-" : "effective rank " + s.path("effective_rank").asInt() + " of "
                                        + s.path("steps_seen").asLong() + " steps");
                    }
                }
                if (trainer.exitValue() != 0) {
                    throw new IllegalStateException("saestream train-lm exited with " + trainer.exitValue()
                            + " (its output is above)");
                }
                System.out.println("training done; draining the jobs");
                sae.stopWithSavepoint(true, dir.resolve("savepoints").toUri().toString(), SavepointFormatType.CANONICAL).get();
                spectra.stopWithSavepoint(true, dir.resolve("savepoints").toUri().toString(),
                        SavepointFormatType.CANONICAL).get();
                JsonNode last = api.latest(saeKey).orElse(null);
                System.out.println();
                System.out.println("=== saestream demo --train-live summary ===");
                System.out.printf(Locale.ROOT, "model                %s (loss curve: %s)%n", out, out.resolve("loss_curve.svg"));
                System.out.printf(Locale.ROOT, "SAE %s tokens        %s trained of %,d tapped (%d steps x %d tokens)%n", saeKey,
                        last == null ? "0" : String.format(Locale.ROOT, "%,d", last.path("tokens_seen").asLong()),
                        config.steps() / options.tapEvery * config.data().tokensPerStep(), config.steps() / options.tapEvery,
                        config.data().tokensPerStep());
                System.out.printf(Locale.ROOT, "SAE %s fvu / L0 / dead / self-sim  %s / %s / %s / %s%n", saeKey,
                        DemoCommand.field(last, "fvu", "%.4f"), DemoCommand.field(last, "l0", "%.2f"),
                        DemoCommand.field(last, "dead_fraction", "%.3f"), DemoCommand.field(last, "self_similarity_mean", "%.4f"));
                JsonNode s = lastSpectrum(api);
                if (s != null) {
                    System.out.printf(Locale.ROOT, "gradient spectrum    effective rank %d of %d steps (centered %d)%n",
                            s.path("effective_rank").asInt(), s.path("steps_seen").asLong(), s.path("centered_effective_rank").asInt());
                }
                System.out.printf(Locale.ROOT, "wall time            %.1fs%n", clock.elapsedSeconds());
                DemoCommand.serveUntilInterrupted(options, api);
            }
        }
        return 0;
    }

    private JsonNode lastSpectrum(SinkClient api) {
        JsonNode all = api.get("/api/spectrum");
        return all == null || !all.has(options.run) ? null : all.get(options.run);
    }

    /** {@code saestream train-lm} in a child JVM with this one's class path, publishing to {@code bootstrap}. */
    private Process startTrainer(Path configFile, TrainConfig config, Path out, String bootstrap) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx3g", "-Dai.djl.offline=true", "-DDJL_CACHE_DIR=" + System.getProperty("DJL_CACHE_DIR", ""),
                "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.lang=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "train-lm",
                "--config", configFile.toAbsolutePath().toString(), "--corpus", Shipped.resolve(options.corpus).toString(),
                "--run", options.run, "--out", out.toString(), "--bootstrap", bootstrap,
                "--steps", Long.toString(config.steps()), "--warmup-steps", Integer.toString(config.schedule().warmupSteps()),
                "--tap-hooks", options.lmHook, "--tap-every", Integer.toString(options.tapEvery), "--progress-every", "5s"));
        System.out.println("trainer    saestream train-lm (child JVM): " + config.steps() + " steps, warm-up "
                + config.schedule().warmupSteps());
        return new ProcessBuilder(command).inheritIO().start();
    }
}
