package org.saestream.sae;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Feature lineage on a source whose true features change on a schedule: 40 background features that never change,
 * and at token {@value #EVENT} one feature appears (A), one is removed (B) and one splits into two (D into D1 and D2,
 * each at cosine 0.82 with D), while one rotates all along (C, 30 degrees per drift window). A ReLU SAE trained on it
 * online (128 latents, drift windows of {@value #WINDOW} tokens, a 25k-token dead window, lr 1e-2 so that B's latent
 * stops firing within a window) must show each event at the first or second boundary after it: a latent born onto
 * A, the latent of B died, two latents split from D's, and C's latent drifted at most boundaries. Measured: all
 * three events at the first boundary after them (600k tokens); C drifted at every boundary; the background stable
 * (95 to 118 of the 128 latents stable at each boundary from the second on, 0 to 8 split and 0 to 7 merged among
 * the SAE's own duplicates and composites). About 8 s.
 */
class LineageScheduleTest {
    private static final int D_IN = 64;
    private static final int D_SAE = 128;
    private static final int BACKGROUND = 40;
    private static final long WINDOW = 100_000;
    private static final long EVENT = 500_000;
    private static final long TOKENS = 1_000_000;
    private static final double RADIANS_PER_TOKEN = Math.toRadians(30) / WINDOW;

    /** What happened at one boundary. */
    private record Boundary(long tokens, FeatureLineage lineage, float[] decoder) {
    }

    @Test
    void eachScheduledEventIsFoundWithinAWindow() {
        Source source = new Source(new Random(5));
        SaeConfig config = SaeConfig.reluL1("lineage", D_IN, D_SAE).withBatchSize(500).withDeadWindowTokens(25_000)
                .withLearningRate(Double.parseDouble(System.getProperty("lr", "1e-2")))
                .withL1Coefficient(Double.parseDouble(System.getProperty("l1", "0.3")));
        config = config.withOptions(config.options().withDrift(WINDOW, 4));
        List<Boundary> boundaries = new ArrayList<>();
        float[] x = new float[config.batchSize() * D_IN];
        try (NDManager root = NDManager.newBaseManager(); SaeTrainer trainer = new SaeTrainer(config, root)) {
            for (long t = 0; t < TOKENS; t += config.batchSize()) {
                source.sample(t, config.batchSize(), x);
                if (trainer.step(x, config.batchSize()).windowClosed()) {
                    boundaries.add(new Boundary(trainer.tokensSeen(), trainer.lineage().orElseThrow(),
                            trainer.decoder()));
                }
            }
        }
        for (Boundary b : boundaries) {
            System.out.printf(Locale.ROOT, "lineage at %d tokens: %s; A %s, B %s, C %s, D %s, D1 %s, D2 %s%n", b.tokens(),
                    java.util.Arrays.toString(b.lineage().counts()), describe(b, source.a), describe(b, source.b),
                    describe(b, source.c(b.tokens())), describe(b, source.d), describe(b, source.d1),
                    describe(b, source.d2));
        }
        List<Boundary> after = boundaries.stream().filter(b -> b.tokens() > EVENT).limit(2).toList();
        Boundary before = boundaries.stream().filter(b -> b.tokens() <= EVENT).reduce((a, b) -> b).orElseThrow();

        assertTrue(after.stream().anyMatch(b -> hasKind(b, FeatureLineage.Kind.BORN, source.a, 0.9)),
                "a latent is born onto A");
        int latentOfB = closest(before.decoder(), source.b);
        assertTrue(cos(before.decoder(), latentOfB, source.b) > 0.9, "B was learnt before it was removed");
        assertTrue(after.stream().anyMatch(b -> b.lineage().kind()[latentOfB] == FeatureLineage.Kind.DIED.ordinal()),
                "B's latent died");
        assertTrue(after.stream().anyMatch(b -> hasKind(b, FeatureLineage.Kind.SPLIT, source.d1, 0.8)
                && hasKind(b, FeatureLineage.Kind.SPLIT, source.d2, 0.8)), "D split into D1 and D2");
        long drifted = boundaries.stream().filter(b -> b.tokens() > 2 * WINDOW)
                .filter(b -> kindOfClosest(b, source.c(b.tokens())) == FeatureLineage.Kind.DRIFTED).count();
        assertTrue(drifted >= boundaries.size() / 2, "C's latent drifted at " + drifted + " of " + boundaries.size()
                + " boundaries");
    }

    /** Whether the latent closest to {@code direction} (at cosine {@code atLeast}) has that kind. */
    private static boolean hasKind(Boundary b, FeatureLineage.Kind kind, float[] direction, double atLeast) {
        int latent = closest(b.decoder(), direction);
        return cos(b.decoder(), latent, direction) >= atLeast && b.lineage().kind()[latent] == kind.ordinal();
    }

    /** "latent:kind:cosine" of the latent closest to a direction. */
    private static String describe(Boundary b, float[] direction) {
        int l = closest(b.decoder(), direction);
        return String.format(Locale.ROOT, "%d:%s:%.2f(m%d,p%d)", l, kindOfClosest(b, direction), cos(b.decoder(), l, direction),
                b.lineage().match()[l], b.lineage().partner()[l]);
    }

    private static FeatureLineage.Kind kindOfClosest(Boundary b, float[] direction) {
        return FeatureLineage.Kind.values()[b.lineage().kind()[closest(b.decoder(), direction)]];
    }

    private static int closest(float[] decoder, float[] direction) {
        int best = 0;
        for (int l = 1; l < D_SAE; l++) {
            if (cos(decoder, l, direction) > cos(decoder, best, direction)) {
                best = l;
            }
        }
        return best;
    }

    private static double cos(float[] decoder, int latent, float[] direction) {
        double dot = 0;
        double norm = 0;
        for (int j = 0; j < D_IN; j++) {
            dot += decoder[latent * D_IN + j] * direction[j];
            norm += decoder[latent * D_IN + j] * decoder[latent * D_IN + j];
        }
        return dot / Math.sqrt(Math.max(norm, 1e-30));
    }

    /** The scheduled source: every feature fires with probability 0.08, magnitude uniform in (0.2, 1]. */
    private static final class Source {
        private static final double P = 0.08;
        final float[][] background = new float[BACKGROUND][];
        final float[] a;
        final float[] b;
        final float[] cu;
        final float[] cv;
        final float[] d;
        final float[] d1;
        final float[] d2;

        Source(Random random) {
            for (int f = 0; f < BACKGROUND; f++) {
                background[f] = unit(random);
            }
            a = unit(random);
            b = unit(random);
            cu = unit(random);
            float[] v = unit(random);
            double dot = dot(cu, v);
            for (int j = 0; j < D_IN; j++) {
                v[j] -= (float) (dot * cu[j]);
            }
            cv = normalized(v);
            d = unit(random);
            float[] w = unit(random);
            double dw = dot(d, w);
            for (int j = 0; j < D_IN; j++) {
                w[j] -= (float) (dw * d[j]);
            }
            w = normalized(w);
            d1 = new float[D_IN];
            d2 = new float[D_IN];
            for (int j = 0; j < D_IN; j++) {
                d1[j] = d[j] + 0.7f * w[j];
                d2[j] = d[j] - 0.7f * w[j];
            }
            normalize(d1);
            normalize(d2);
        }

        /** C's direction at token t. */
        float[] c(long t) {
            double angle = RADIANS_PER_TOKEN * t;
            float[] out = new float[D_IN];
            for (int j = 0; j < D_IN; j++) {
                out[j] = (float) (Math.cos(angle) * cu[j] + Math.sin(angle) * cv[j]);
            }
            return out;
        }

        void sample(long first, int rows, float[] out) {
            java.util.Arrays.fill(out, 0f);
            for (int r = 0; r < rows; r++) {
                long t = first + r;
                Random random = new Random(t * 0x9E3779B97F4A7C15L);
                for (float[] f : background) {
                    maybeAdd(random, out, r, f);
                }
                if (t >= EVENT) {
                    maybeAdd(random, out, r, a);
                    maybeAdd(random, out, r, random.nextBoolean() ? d1 : d2);
                } else {
                    maybeAdd(random, out, r, b);
                    maybeAdd(random, out, r, d);
                }
                maybeAdd(random, out, r, c(t));
            }
        }

        private static void maybeAdd(Random random, float[] out, int row, float[] direction) {
            if (random.nextDouble() < P) {
                float m = 0.2f + 0.8f * random.nextFloat();
                for (int j = 0; j < D_IN; j++) {
                    out[row * D_IN + j] += m * direction[j];
                }
            }
        }

        private static float[] unit(Random random) {
            float[] v = new float[D_IN];
            for (int j = 0; j < D_IN; j++) {
                v[j] = (float) random.nextGaussian();
            }
            return normalized(v);
        }

        private static float[] normalized(float[] v) {
            float[] out = v.clone();
            normalize(out);
            return out;
        }

        private static void normalize(float[] v) {
            double n = Math.sqrt(dot(v, v));
            for (int j = 0; j < v.length; j++) {
                v[j] /= (float) n;
            }
        }

        private static double dot(float[] x, float[] y) {
            double s = 0;
            for (int j = 0; j < x.length; j++) {
                s += (double) x[j] * y[j];
            }
            return s;
        }
    }
}
