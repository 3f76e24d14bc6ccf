package org.saestream.cli;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.embedded.FlinkRunner;
import org.saestream.jobs.SaeJobConfig;
import org.saestream.produce.KafkaTopics;
import org.saestream.records.Topics;
import org.saestream.sink.MetricsSink;
import org.saestream.sink.SinkConfig;
import org.saestream.sink.SinkTopology;
import org.saestream.spectrum.SpectrumJobConfig;
import org.saestream.train.KafkaActivationTap;
import org.saestream.train.KafkaGradientSink;
import org.saestream.train.StepReport;
import org.saestream.train.TrainConfig;
import org.saestream.train.Trainer;
import org.saestream.train.TrainingLog;
import org.saestream.train.TrainingRun;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

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
        TrainConfig config = TrainLmCommand.readConfig(configFile).withSteps(options.trainSteps);
        Path out = dir.resolve("model");
        int width = ((TrainConfig.FromConfig) config.model()).config().path("hidden_size").asInt();
        String modelId = out.getFileName().toString();
        SaeJobConfig job = LmDemo.saeJob(options, width, modelId);
        String saeKey = job.saeKey(job.saes().get(0).saeId());
        SpectrumJobConfig spectrum = SpectrumJobConfig.forRun(options.run).withPublishEvery(options.spectrumEvery);
        Progress clock = new Progress();
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            List<String> topics = new ArrayList<>(SinkTopology.sourceTopics());
            topics.add(job.deadLetterTopic());
            topics.add(spectrum.deadLetterTopic());
            for (String t : topics) {
                KafkaTopics.ensure(bootstrap, t, 1, Map.of());
            }
            KafkaTopics.ensure(bootstrap, job.sourceTopic(), 1, Map.of("retention.ms", "-1"));
            System.out.println("saestream demo --train-live: workdir " + dir);
            System.out.println("kafka      " + bootstrap + " (KRaft, in this JVM)");
            SinkConfig sinkConfig = SinkConfig.of(bootstrap, dir.resolve("sink"), dir.resolve("snapshots"), options.httpPort)
                    .withTokenizers(List.of(config.tokenizer()));
            try (MetricsSink sink = new MetricsSink(sinkConfig);
                 KafkaGradientSink gradients = new KafkaGradientSink(bootstrap, options.run);
                 KafkaActivationTap tap = new KafkaActivationTap(bootstrap, options.run, List.of(options.lmHook),
                         options.tapEvery)) {
                sink.start();
                SinkClient api = new SinkClient("127.0.0.1", sink.httpPort());
                System.out.println("dashboard  " + api.baseUrl() + "/");
                JobClient sae = FlinkRunner.startTraining(job, bootstrap, dir.resolve("checkpoints-sae"),
                        Duration.ofSeconds(2), null, false, 0);
                JobClient spectra = FlinkRunner.startSpectrum(spectrum, bootstrap, dir.resolve("checkpoints-spectrum"),
                        Duration.ofSeconds(2), 0);
                System.out.println("flink      SAE job " + sae.getJobID() + " on " + job.sourceTopic() + " (" + options.lmHook
                        + "), spectrum job " + spectra.getJobID() + " on " + gradients.topic());

                TrainingRun.Options run = new TrainingRun.Options(options.run, out, List.of(Shipped.resolve(options.corpus)),
                        Optional.empty(), Device.cpu());
                Trainer.Result result;
                try (TrainingRun training = TrainingRun.prepare(config, run, gradients);
                     TrainingLog log = TrainingLog.open(out, 0)) {
                    training.tapActivations(tap);
                    System.out.println(training.describe());
                    result = training.train(new LiveProgress(api, saeKey, clock, log));
                }
                System.out.println("training done: " + result.steps() + " steps, loss " + String.format(Locale.ROOT,
                        "%.4f", result.lastLossEma()) + "; draining the jobs");
                sae.stopWithSavepoint(true, dir.resolve("savepoints").toUri().toString(), SavepointFormatType.CANONICAL).get();
                spectra.stopWithSavepoint(true, dir.resolve("savepoints").toUri().toString(),
                        SavepointFormatType.CANONICAL).get();
                JsonNode last = api.latest(saeKey).orElse(null);
                System.out.println();
                System.out.println("=== saestream demo --train-live summary ===");
                System.out.printf(Locale.ROOT, "model                %s (%d steps, %,d tokens, loss %.4f)%n", out,
                        result.steps(), result.tokensSeen(), result.lastLossEma());
                System.out.printf(Locale.ROOT, "gradients            %d GradientStep records to %s%n", gradients.records(),
                        gradients.topic());
                System.out.printf(Locale.ROOT, "activations          %d blocks to %s%n", tap.blocks(), tap.topic());
                System.out.printf(Locale.ROOT, "SAE %s fvu / L0 / dead / self-sim  %s / %s / %s / %s%n", saeKey,
                        DemoCommand.field(last, "fvu", "%.4f"), DemoCommand.field(last, "l0", "%.2f"),
                        DemoCommand.field(last, "dead_fraction", "%.3f"), DemoCommand.field(last, "self_similarity_mean", "%.4f"));
                JsonNode spectrumNow = api.get("/api/spectrum/" + options.run);
                if (spectrumNow != null && spectrumNow.size() > 0) {
                    JsonNode s = spectrumNow.get(spectrumNow.size() - 1);
                    System.out.printf(Locale.ROOT, "gradient spectrum    effective rank %d of %d steps (centered %d)%n",
                            s.path("effective_rank").asInt(), s.path("steps_seen").asLong(), s.path("centered_effective_rank").asInt());
                }
                System.out.printf(Locale.ROOT, "wall time            %.1fs%n", clock.elapsedSeconds());
                DemoCommand.serveUntilInterrupted(options, api);
            }
        }
        return 0;
    }

    /** The trainer's progress line with the SAE's, every few seconds; the per-step log beside the model. */
    private static final class LiveProgress implements Trainer.Listener {
        private final SinkClient api;
        private final String saeKey;
        private final Progress clock;
        private final TrainingLog log;
        private long lastPrint;

        LiveProgress(SinkClient api, String saeKey, Progress clock, TrainingLog log) {
            this.api = api;
            this.saeKey = saeKey;
            this.clock = clock;
            this.log = log;
        }

        @Override
        public void onStep(StepReport report) {
            log.onStep(report);
            long now = System.nanoTime();
            if (now - lastPrint > 5_000_000_000L || report.step() == report.totalSteps()) {
                lastPrint = now;
                JsonNode m = api.latest(saeKey).orElse(null);
                System.out.printf(Locale.ROOT, "[%5.0fs] %s | SAE trained %s tokens, fvu %s, L0 %s, self-sim %s%n",
                        clock.elapsedSeconds(), report.progressLine(),
                        m == null ? "0" : Progress.count(m.path("tokens_seen").asLong()), DemoCommand.field(m, "fvu", "%.3f"),
                        DemoCommand.field(m, "l0", "%.1f"), DemoCommand.field(m, "self_similarity_mean", "%.3f"));
            }
        }
    }
}
