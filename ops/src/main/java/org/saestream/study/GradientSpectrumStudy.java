package org.saestream.study;

import org.saestream.jobs.ReplayRange;
import org.saestream.records.GradientStep;
import org.saestream.records.RecordCodec;
import org.saestream.records.RecordDecodeException;
import org.saestream.records.Topics;
import org.saestream.spectrum.GramSpectra;
import org.saestream.spectrum.Spectrum;
import org.saestream.spectrum.SpectrumJobConfig;
import org.saestream.spectrum.SpectrumSketch;
import org.saestream.tensor.DType;
import org.saestream.tensor.TensorCodec;
import org.saestream.topics.KafkaClientConfig;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A training run's whole gradient log, read back from gradients.&lt;run&gt;, analysed exactly: the singular values of
 * the steps x sketch-width matrix with and without the mean, of its first and last N steps, and what the streamed
 * sketch reports for the same rows at a given l (so a sketch too small to see the run shows as such).
 */
public final class GradientSpectrumStudy {
    private GradientSpectrumStudy() {
    }

    /** The run's accepted steps in order (as the spectrum job accepts them), and what was passed over. */
    public record Log(String run, List<Long> steps, List<float[]> rows, int width, String method, long seed,
                      long skipped) {
    }

    /**
     * The singular values of some steps' gradient rows, plain and minus their mean, and how many exceed the
     * threshold x the largest.
     */
    public record Counts(String what, long firstStep, long lastStep, int steps, int above, int aboveCentered,
                         double[] singularValues, double[] centeredSingularValues) {
        static Counts exact(String what, List<Long> steps, List<float[]> rows, double threshold) {
            double[][] g = GramSpectra.gram(rows);
            Spectrum plain = GramSpectra.spectrum(g);
            Spectrum centered = GramSpectra.spectrum(GramSpectra.centered(g));
            return new Counts(what, steps.get(0), steps.get(steps.size() - 1), rows.size(),
                    plain.effectiveRank(threshold), centered.effectiveRank(threshold), plain.singularValues(),
                    centered.singularValues());
        }
    }

    /** Every figure of the study: exact over all steps, early, late; and the sketch at each l asked for. */
    public record Result(String run, int width, String sketchMethod, double threshold, int window, Counts all,
                         Counts early, Counts late, List<Counts> sketches) {
    }

    /** Reads gradients.&lt;run&gt; from the start to its end as of now; duplicate or stray records are skipped. */
    public static Log read(KafkaClientConfig kafka, String run, Duration idle, Consumer<String> progress) {
        String topic = Topics.gradients(run);
        List<Long> steps = new ArrayList<>();
        List<float[]> rows = new ArrayList<>();
        var seen = new Object() {
            int width = -1;
            String method = "";
            long seed;
            long skipped;
            long lastStep = Long.MIN_VALUE;
        };
        ReplayRange.readCommitted(kafka, topic, null, null, idle, r -> {
            GradientStep step;
            try {
                step = RecordCodec.GRADIENT_STEP.decode(r.value());
            } catch (RecordDecodeException e) {
                seen.skipped++;
                return;
            }
            ByteBuffer sketch = step.getSketch();
            if (!step.getRunId().toString().equals(run) || step.getStep() <= seen.lastStep
                    || sketch.remaining() != 4L * step.getSketchWidth()
                    || (seen.width >= 0 && step.getSketchWidth() != seen.width)) {
                seen.skipped++;
                return;
            }
            byte[] bytes = new byte[sketch.remaining()];
            sketch.duplicate().get(bytes);
            if (seen.width < 0) {
                seen.width = step.getSketchWidth();
                seen.method = step.getSketchMethod().name().toLowerCase(java.util.Locale.ROOT);
                seen.seed = step.getSketchSeed();
            }
            long need = needBytes(steps.size() + 1L, seen.width);
            if (need > 0.6 * Runtime.getRuntime().maxMemory()) {
                throw new IllegalArgumentException(String.format(java.util.Locale.ROOT, "%s: %d steps of width %d and "
                        + "their Gram matrices need about %.1f GB, more than this heap allows (%.1f GB); give the JVM "
                        + "more (SAESTREAM_JAVA_OPTS=-Xmx...)", topic, steps.size() + 1, seen.width, need / 1e9,
                        Runtime.getRuntime().maxMemory() / 1e9));
            }
            seen.lastStep = step.getStep();
            steps.add(step.getStep());
            rows.add(TensorCodec.decode(bytes, DType.F32));
            if (steps.size() % 500 == 0) {
                progress.accept("read " + steps.size() + " steps of " + topic);
            }
        });
        if (steps.isEmpty()) {
            throw new IllegalArgumentException("topic " + topic + " holds no GradientStep of run " + run);
        }
        return new Log(run, steps, rows, seen.width, seen.method, seen.seed, seen.skipped);
    }

    /** What the analysis holds at once for n rows of width k: the rows, and three n x n matrices of doubles. */
    static long needBytes(long n, int k) {
        return 4L * n * k + 24L * n * n;
    }

    /**
     * The exact spectra of all steps, the first and the last {@code window} (fewer when the run is shorter), and the
     * sketch's for each l of {@code sketchRows} (0: the spectrum job's automatic size at this width).
     */
    public static Result analyse(Log log, int window, double threshold, List<Integer> sketchRows,
                                 Consumer<String> progress) {
        int n = log.rows().size();
        int w = Math.min(window, n);
        progress.accept("exact spectra of " + n + " x " + log.width() + " ...");
        Counts all = Counts.exact("all " + n + " steps", log.steps(), log.rows(), threshold);
        Counts early = Counts.exact("first " + w + " steps", log.steps().subList(0, w), log.rows().subList(0, w),
                threshold);
        Counts late = Counts.exact("last " + w + " steps", log.steps().subList(n - w, n),
                log.rows().subList(n - w, n), threshold);
        List<Counts> sketches = new ArrayList<>();
        for (int requested : sketchRows) {
            int l = requested > 0 ? requested : SpectrumJobConfig.forRun(log.run()).sketchRowsFor(log.width());
            progress.accept("Frequent Directions sketch, l = " + l + " ...");
            SpectrumSketch sketch = new SpectrumSketch(log.width(), l);
            log.rows().forEach(sketch::insert);
            Spectrum plain = sketch.spectrum(0);
            Spectrum centered = sketch.centeredSpectrum();
            sketches.add(new Counts("sketch, l = " + l + (requested > 0 ? "" : " (auto)"), log.steps().get(0),
                    log.steps().get(n - 1), n, plain.effectiveRank(threshold), centered.effectiveRank(threshold),
                    plain.singularValues(), centered.singularValues()));
        }
        return new Result(log.run(), log.width(), log.method(), threshold, w, all, early, late, sketches);
    }
}
