package org.saestream.hessian;

import ai.djl.ndarray.types.Shape;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.saestream.eval.TextWindows;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.LossCurvature;
import org.saestream.lm.TokenBatch;
import org.saestream.records.HessianSpectrum;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.KafkaClientConfig;
import org.saestream.topics.ProducerSettings;
import org.saestream.topics.TopicCatalog;
import org.saestream.train.GradientSketch;
import org.saestream.train.StepObserver;
import org.saestream.train.StepReport;
import org.saestream.train.TrainingData;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The loss Hessian during training (`train-lm --hessian-every M`): every M steps, the top K eigenpairs of the Hessian
 * of the mean loss over a fixed token set at the weights as that step left them ({@link HessianSpectrum}: Lanczos on
 * central-difference products, which move the weights and put them back exactly, so training goes on bitwise as it
 * would have), and how much of each recent step's gradient lies in their span. The overlap is computed where the
 * spectrum job sees gradients, in the run's sketch space: each eigenvector is sketched with the run's own map S (its
 * slice of the flattened parameters placed at its offset), the K sketched vectors are orthonormalised into U, and a
 * step's share is ||U^T S g||^2 / ||S g||^2 (S preserves inner products in expectation; with {@code full} it is the
 * exact share).
 */
public final class TrainingCurvature implements StepObserver {
    /** Recent steps whose gradients are compared, at most. */
    static final int MAX_RECENT = 256;

    /**
     * @param every      M: measure after every M-th step
     * @param top        K eigenpairs
     * @param iterations Lanczos iterations (Hessian-vector products)
     * @param tokens     predictions of the fixed token set, at least (whole training windows, seeded)
     * @param params     which parameters (globs, empty or null: all)
     * @param seed       Lanczos's start vector and the choice of windows
     */
    public record Settings(int every, int top, int iterations, long tokens, String params, long seed) {
        public Settings {
            if (every < 1) {
                throw new IllegalArgumentException("--hessian-every must be at least 1, got " + every);
            }
            if (top < 1) {
                throw new IllegalArgumentException("--hessian-top must be at least 1, got " + top);
            }
            if (iterations < top) {
                throw new IllegalArgumentException("--hessian-iterations must be at least --hessian-top " + top
                        + ", got " + iterations);
            }
            if (tokens < 1) {
                throw new IllegalArgumentException("--hessian-tokens must be at least 1, got " + tokens);
            }
        }
    }

    /** Where the records go: Kafka in a run, a list in tests. */
    public interface Publisher extends AutoCloseable {
        void publish(HessianSpectrum record);

        @Override
        default void close() {
        }
    }

    private final Settings settings;
    private final LanguageModel model;
    private final List<TokenBatch> batches;
    private final GradientSketch sketch;
    private final String runId;
    private final String modelId;
    private final Predicate<String> chosen;
    /** each chosen parameter's offset in the flattened gradient the sketch maps (every parameter, checkpoint order) */
    private final Map<String, Long> offsets = new LinkedHashMap<>();
    private final Publisher publisher;
    private final ArrayDeque<Long> recentSteps = new ArrayDeque<>();
    private final ArrayDeque<float[]> recentSketches = new ArrayDeque<>();
    private long lastReturn = System.nanoTime();
    private double stepSeconds;
    private int stepsTimed;

    public TrainingCurvature(Settings settings, LanguageModel model, TrainingData data, long dataSeed,
                             GradientSketch sketch, String runId, String modelId, Publisher publisher) {
        this.settings = settings;
        this.model = model;
        this.batches = tokenSet(data, settings.tokens(), dataSeed ^ settings.seed());
        this.sketch = sketch;
        this.runId = runId;
        this.modelId = modelId;
        this.chosen = ParameterGlob.of(settings.params());
        this.publisher = publisher;
        long at = 0;
        for (String name : model.parameters().names()) {
            if (chosen.test(name)) {
                offsets.put(name, at);
            }
            at += model.parameters().get(name).getShape().size();
        }
        if (offsets.isEmpty()) {
            throw new IllegalArgumentException("--hessian-params '" + settings.params() + "' matches no parameter of the "
                    + "model; it has " + model.parameters().names());
        }
        if (at != sketch.parameterCount()) {
            throw new IllegalStateException("the sketch maps " + sketch.parameterCount() + " coordinates, the model has "
                    + at);
        }
    }

    /**
     * The fixed token set: whole training windows (enough for {@code tokens} predictions), drawn by the data's own
     * seeded order, one forward of up to 8 windows at a time. The same windows at every measurement.
     */
    public static List<TokenBatch> tokenSet(TrainingData data, long tokens, long seed) {
        int perWindow = Math.max(1, data.contextLength() - 1);
        int windows = (int) Math.min(data.windowCount(), (tokens + perWindow - 1) / perWindow);
        List<long[]> chosen = data.windowsOf(1, windows, seed).stream()
                .map(w -> java.util.Arrays.stream(w).asLongStream().toArray()).toList();
        return TextWindows.batches(chosen, 8);
    }

    @Override
    public void afterStep(StepReport report, float[] sketchedGradient) {
        long now = System.nanoTime();
        stepSeconds += (now - lastReturn) / 1e9;
        stepsTimed++;
        if (sketchedGradient != null) {
            recentSteps.addLast(report.step());
            recentSketches.addLast(sketchedGradient);
            while (recentSteps.size() > Math.min(settings.every(), MAX_RECENT)) {
                recentSteps.removeFirst();
                recentSketches.removeFirst();
            }
        }
        if (!report.skipped() && report.step() % settings.every() == 0) {
            publisher.publish(measure(report));
            stepSeconds = 0;
            stepsTimed = 0;
        }
        lastReturn = System.nanoTime();
    }

    /** The Hessian's top eigenpairs now, and the recent gradients' share in their span. */
    HessianSpectrum measure(StepReport report) {
        long start = System.nanoTime();
        LossCurvature curvature = LossCurvature.of(model, batches, chosen);
        org.saestream.hessian.HessianSpectrum spectrum = org.saestream.hessian.HessianSpectrum.compute(curvature,
                settings.top(), settings.iterations(), settings.seed(), j -> { });
        List<Lanczos.Pair> pairs = spectrum.lanczos().pairs();
        List<Double> values = new ArrayList<>();
        List<Double> residuals = new ArrayList<>();
        List<String> topParameters = new ArrayList<>();
        List<double[]> sketched = new ArrayList<>();
        for (int i = 0; i < pairs.size(); i++) {
            values.add(pairs.get(i).value());
            residuals.add(pairs.get(i).residual());
            topParameters.add(spectrum.shares(i).get(0).getKey());
            sketched.add(sketchOf(pairs.get(i).vector(), curvature));
        }
        List<double[]> basis = orthonormal(sketched);
        List<Double> overlaps = new ArrayList<>();
        for (float[] g : recentSketches) {
            overlaps.add(share(g, basis));
        }
        double mean = overlaps.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
        return HessianSpectrum.newBuilder()
                .setRunId(runId).setModelId(modelId).setStep(report.step()).setTokensSeen(report.tokensSeen())
                .setLoss(spectrum.loss()).setTokens(curvature.predictions()).setParameters(curvature.dimension())
                .setParameterGlob(settings.params() == null ? "" : settings.params())
                .setEigenvalues(values).setResiduals(residuals).setLanczosIterations(spectrum.lanczos().iterations())
                .setTopParameters(topParameters)
                .setOverlapSteps(List.copyOf(recentSteps)).setOverlaps(overlaps).setOverlapMean(mean)
                .setSketchMethod(sketch.method()).setSketchWidth(sketch.width())
                .setSeconds((System.nanoTime() - start) / 1e9)
                .setStepSeconds(stepsTimed > 0 ? stepSeconds / stepsTimed : 0)
                .setTimeMs(Instant.now()).build();
    }

    /** S y: the chosen parameters' slices of y placed at their offsets in the flattened gradient. */
    double[] sketchOf(double[] y, LossCurvature curvature) {
        double[] acc = new double[sketch.width()];
        int at = 0;
        for (String name : curvature.parameterNames()) {
            Shape shape = curvature.shapes().get(name);
            int size = Math.toIntExact(shape.size());
            float[] slice = new float[size];
            for (int j = 0; j < size; j++) {
                slice[j] = (float) y[at + j];
            }
            sketch.accumulate(slice, offsets.get(name), acc);
            at += size;
        }
        return acc;
    }

    /** Gram-Schmidt twice; a vector in the span of the earlier ones is dropped. */
    static List<double[]> orthonormal(List<double[]> vectors) {
        List<double[]> basis = new ArrayList<>();
        for (double[] v : vectors) {
            double[] u = v.clone();
            double before = Lanczos.norm(u);
            for (int pass = 0; pass < 2; pass++) {
                for (double[] b : basis) {
                    double p = Lanczos.dot(u, b);
                    for (int j = 0; j < u.length; j++) {
                        u[j] -= p * b[j];
                    }
                }
            }
            double norm = Lanczos.norm(u);
            if (norm > 1e-10 * before) {
                for (int j = 0; j < u.length; j++) {
                    u[j] /= norm;
                }
                basis.add(u);
            }
        }
        return basis;
    }

    /** ||U^T g||^2 / ||g||^2 (0 for a zero g). */
    static double share(float[] g, List<double[]> basis) {
        double norm = 0;
        for (float x : g) {
            norm += (double) x * x;
        }
        if (norm == 0) {
            return 0;
        }
        double inside = 0;
        for (double[] u : basis) {
            double p = 0;
            for (int j = 0; j < g.length; j++) {
                p += u[j] * g[j];
            }
            inside += p * p;
        }
        return inside / norm;
    }

    /** Publishes to the {@code hessian} topic, keyed by run (created if absent), idempotently with acks=all. */
    public static Publisher kafka(KafkaClientConfig client, String run) {
        KafkaAdmin.ensureTopics(client, 1, TopicCatalog.HESSIAN);
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(ProducerSettings.reliable(client));
        return new Publisher() {
            @Override
            public void publish(HessianSpectrum record) {
                ProducerRecord<byte[], byte[]> r = TopicCatalog.HESSIAN.record(run, record);
                try {
                    producer.send(r).get(30, java.util.concurrent.TimeUnit.SECONDS);
                } catch (Exception e) {
                    throw new IllegalStateException("publishing the Hessian spectrum of step " + record.getStep()
                            + " to " + TopicCatalog.HESSIAN.name() + " failed: " + e.getMessage(), e);
                }
            }

            @Override
            public void close() {
                producer.close();
            }
        };
    }
}
