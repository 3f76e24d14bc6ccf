package org.saestream.cli;

import org.saestream.embedded.EmbeddedStack;
import org.saestream.jobs.SaeJobConfig;
import org.saestream.records.SaeMetrics;
import org.saestream.records.SpectrumMetrics;
import org.saestream.records.Topics;
import org.saestream.sae.ActivationSource;
import org.saestream.spectrum.SpectrumJobConfig;
import org.saestream.topics.TopicCatalog;
import org.saestream.train.TrainConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * `saestream demo --train-live`: trains a fresh copy of the default model while both analysis streams
 * watch it. Every step publishes a gradient sketch to gradients.&lt;run&gt; (the spectrum job tracks its
 * singular values and effective rank) and the activations of its own forward pass at one hook to
 * activations.&lt;run&gt; (an SAE learns the model's features as they form, with drift windows short
 * enough to see them change); the sink serves all of it on the dashboard.
 */
final class TrainLiveDemo {
    /** 16 training steps of 2048 tokens: drift windows short enough to watch. */
    private static final long SNAPSHOT_EVERY_TOKENS = 32_768;
    private static final long PRINT_EVERY_NANOS = 5_000_000_000L;

    private TrainLiveDemo() {
    }

    static int run(DemoCommand options, Path dir) throws Exception {
        Files.createDirectories(dir);
        Path configFile = Shipped.resolve(options.trainConfig);
        TrainConfig config = TrainLmCommand.readConfig(configFile).withStepsScaled(options.trainSteps);
        Path out = dir.resolve("model");
        int width = ((TrainConfig.FromConfig) config.model()).config().path("hidden_size").asInt();
        SaeJobConfig job = LmDemo.saeJob(options, width, out.getFileName().toString(),
                SaeOptions.Defaults.width(width).withSnapshotEvery(SNAPSHOT_EVERY_TOKENS))
                .withActivationSource(new ActivationSource(config.data().contextLength(), false, ""));
        String saeKey = job.saeKey(job.saes().get(0).saeId());
        SpectrumJobConfig spectrum = SpectrumJobConfig.forRun(options.run).withPublishEvery(options.spectrumEvery);
        Progress clock = new Progress();
        System.out.println("saestream demo --train-live: workdir " + dir);
        EmbeddedStack.Plan plan = new EmbeddedStack.Plan(dir, options.httpPort, List.of(config.tokenizer()),
                List.of(TopicCatalog.activations(options.run), TopicCatalog.gradients(options.run)),
                List.of(new EmbeddedStack.Training(job, Duration.ofSeconds(2)),
                        new EmbeddedStack.Spectrum(spectrum, Duration.ofSeconds(2))));
        try (EmbeddedStack stack = EmbeddedStack.start(plan)) {
            System.out.println("kafka      " + stack.bootstrap() + " (KRaft, in this JVM)");
            System.out.println("dashboard  " + stack.dashboardUrl());
            System.out.println("flink      SAE job " + stack.jobs().get(0).getJobID() + " on " + job.sourceTopic() + " ("
                    + options.lmHook + "), spectrum job " + stack.jobs().get(1).getJobID() + " on "
                    + Topics.gradients(options.run));
            // the trainer runs in its own JVM, as it would beside a cluster: one process per PyTorch user
            // (in one JVM with the Flink jobs' SAE arithmetic, a few steps came out with non-finite gradients)
            Process trainer = startTrainer(options, configFile, config, out, stack.bootstrap());
            long lastPrint = 0;
            while (trainer.isAlive()) {
                Thread.sleep(500);
                if (System.nanoTime() - lastPrint > PRINT_EVERY_NANOS) {
                    lastPrint = System.nanoTime();
                    printProgress(clock, saeKey, stack.latest(saeKey), stack.latestSpectrum(options.run));
                }
            }
            if (trainer.exitValue() != 0) {
                throw new IllegalStateException("saestream train-lm exited with " + trainer.exitValue()
                        + " (its output is above)");
            }
            System.out.println("training done; draining the jobs");
            stack.drain();
            printSummary(options, config, out, saeKey, stack.latest(saeKey), stack.latestSpectrum(options.run), clock);
            DemoRun.serveUntilInterrupted(options.serve, stack);
        }
        return 0;
    }

    private static void printProgress(Progress clock, String saeKey, Optional<SaeMetrics> sae,
                                      Optional<SpectrumMetrics> spectrum) {
        SaeMetrics m = sae.orElse(null);
        System.out.printf(Locale.ROOT, "[%5.0fs] SAE %s: trained %s tokens, fvu %s, L0 %s, self-sim %s | spectrum: %s%n",
                clock.elapsedSeconds(), saeKey, m == null ? "0" : Progress.count(m.getTokensSeen()),
                DemoRun.field(m == null ? null : m.getFvu(), "%.3f"), DemoRun.field(m == null ? null : m.getL0(), "%.1f"),
                DemoRun.field(m == null ? null : m.getSelfSimilarityMean(), "%.3f"),
                spectrum.map(s -> "effective rank " + s.getEffectiveRank() + " of " + s.getStepsSeen() + " steps")
                        .orElse("-"));
    }

    private static void printSummary(DemoCommand options, TrainConfig config, Path out, String saeKey,
                                     Optional<SaeMetrics> sae, Optional<SpectrumMetrics> spectrum, Progress clock) {
        SaeMetrics m = sae.orElse(null);
        long tapSteps = config.steps() / options.tapEvery;
        System.out.println();
        System.out.println("=== saestream demo --train-live summary ===");
        System.out.printf(Locale.ROOT, "model                %s (loss curve: %s)%n", out, out.resolve("loss_curve.svg"));
        System.out.printf(Locale.ROOT, "SAE %s tokens        %s trained of %,d tapped (%d steps x %d tokens)%n", saeKey,
                m == null ? "0" : String.format(Locale.ROOT, "%,d", m.getTokensSeen()),
                tapSteps * config.data().tokensPerStep(), tapSteps, config.data().tokensPerStep());
        System.out.printf(Locale.ROOT, "SAE %s fvu / L0 / dead / self-sim  %s / %s / %s / %s%n", saeKey,
                DemoRun.field(m == null ? null : m.getFvu(), "%.4f"), DemoRun.field(m == null ? null : m.getL0(), "%.2f"),
                DemoRun.field(m == null ? null : m.getDeadFraction(), "%.3f"),
                DemoRun.field(m == null ? null : m.getSelfSimilarityMean(), "%.4f"));
        spectrum.ifPresent(s -> System.out.printf(Locale.ROOT,
                "gradient spectrum    effective rank %d of %d steps (centered %d)%n", s.getEffectiveRank(),
                s.getStepsSeen(), s.getCenteredEffectiveRank()));
        System.out.printf(Locale.ROOT, "wall time            %.1fs%n", clock.elapsedSeconds());
    }

    /** {@code saestream train-lm} in a child JVM with this one's class path, publishing to {@code bootstrap}. */
    private static Process startTrainer(DemoCommand options, Path configFile, TrainConfig config, Path out,
                                        String bootstrap) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx3g", "-Dai.djl.offline=true", "-DDJL_CACHE_DIR=" + System.getProperty("DJL_CACHE_DIR", ""),
                "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.lang=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "train-lm",
                "--config", configFile.toAbsolutePath().toString(), "--corpus", Shipped.resolve(options.corpus).toString(),
                "--run", options.run, "--out", out.toString(), "--bootstrap", bootstrap,
                "--steps", Long.toString(config.steps()), "--warmup-steps", Integer.toString(config.schedule().warmupSteps()),
                "--tap-hooks", options.lmHook, "--tap-every", Integer.toString(options.tapEvery), "--progress-every", "5s"));
        if (options.hessianEvery > 0) {
            command.addAll(List.of("--hessian-every", Integer.toString(options.hessianEvery), "--hessian-top", "3",
                    "--hessian-iterations", "15", "--hessian-tokens", "256"));
        }
        System.out.println("trainer    saestream train-lm (child JVM): " + config.steps() + " steps, warm-up "
                + config.schedule().warmupSteps());
        return new ProcessBuilder(command).inheritIO().start();
    }
}
