package org.saestream.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.ModelFamily;
import org.saestream.lm.Parameters;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The learning-rate schedule and AdamW against plain references of the same maths. */
class OptimizerTest {

    @Test
    void warmupThenCosineToTheFloor() {
        LrSchedule s = new LrSchedule(1e-3, 10, 111, 0.1);
        assertEquals(1e-4, s.at(1), 1e-12);
        assertEquals(5e-4, s.at(5), 1e-12);
        assertEquals(1e-3, s.at(10), 1e-12);
        assertEquals(1e-3, s.at(11), 1e-12);
        assertEquals(0.55e-3, s.at(61), 1e-12); // half-way through the cosine: the mean of peak and floor
        assertEquals(1e-4, s.at(111), 1e-12);
        for (long t = 11; t <= 111; t++) {
            assertTrue(s.at(t) <= s.at(t - 1) + 1e-15, "decays monotonically at " + t);
        }
        assertEquals(1e-3, new LrSchedule(1e-3, 0, 1, 0).at(1), 0); // a one-step run without warm-up: the peak
    }

    @Test
    void decayGroups() {
        assertTrue(AdamW.decays("gpt_neox.layers.0.attention.dense.weight", new Shape(4, 4)));
        assertTrue(AdamW.decays("lm_head.weight", new Shape(4, 4)));
        assertFalse(AdamW.decays("gpt_neox.embed_in.weight", new Shape(4, 4)));
        assertFalse(AdamW.decays("transformer.wte.weight", new Shape(4, 4)));
        assertFalse(AdamW.decays("transformer.wpe.weight", new Shape(4, 4)));
        assertFalse(AdamW.decays("model.embed_tokens.weight", new Shape(4, 4)));
        assertFalse(AdamW.decays("gpt_neox.layers.0.attention.dense.bias", new Shape(4)));
        assertFalse(AdamW.decays("gpt_neox.final_layer_norm.weight", new Shape(4)));
    }

    /** torch.optim.AdamW's update in doubles, one coordinate at a time. */
    private static final class ReferenceAdamW {
        final double[] m;
        final double[] v;
        int t;

        ReferenceAdamW(int n) {
            m = new double[n];
            v = new double[n];
        }

        void step(double[] p, double[] g, double lr, double scale, TrainConfig.OptimizerConfig c, boolean decay) {
            t++;
            for (int i = 0; i < p.length; i++) {
                double gi = g[i] * scale;
                m[i] = c.beta1() * m[i] + (1 - c.beta1()) * gi;
                v[i] = c.beta2() * v[i] + (1 - c.beta2()) * gi * gi;
                if (decay) {
                    p[i] *= 1 - lr * c.weightDecay();
                }
                double denominator = Math.sqrt(v[i]) / Math.sqrt(1 - Math.pow(c.beta2(), t)) + c.eps();
                p[i] -= lr / (1 - Math.pow(c.beta1(), t)) * m[i] / denominator;
            }
        }
    }

    @Test
    void adamWMatchesTheReference() {
        var config = TrainFixtures.tinyNeoX();
        config.put("vocab_size", 64);
        ModelFamily family = ModelFamily.fromConfig(config, Path.of("test"), "");
        TrainConfig.OptimizerConfig c = new TrainConfig.OptimizerConfig(3e-2, 0.1, 0.9, 0.95, 1e-8, 1.0);
        try (LanguageModel model = ModelInit.randomlyInitialised(family, 0.02, 5, Device.cpu());
             NDManager manager = NDManager.newBaseManager();
             AdamW adam = new AdamW(model.parameters(), c)) {
            Parameters params = model.parameters();
            Map<String, double[]> expected = new LinkedHashMap<>();
            Map<String, ReferenceAdamW> references = new LinkedHashMap<>();
            params.asMap().forEach((name, p) -> {
                float[] f = p.toFloatArray();
                double[] d = new double[f.length];
                for (int i = 0; i < f.length; i++) {
                    d[i] = f[i];
                }
                expected.put(name, d);
                references.put(name, new ReferenceAdamW(f.length));
            });
            SplittableRandom random = new SplittableRandom(3);
            for (int step = 1; step <= 4; step++) {
                double lr = 1e-2 * step;
                double scale = step == 2 ? 0.25 : 1.0;
                Map<String, NDArray> grads = new LinkedHashMap<>();
                for (Map.Entry<String, NDArray> e : params.asMap().entrySet()) {
                    float[] g = new float[Math.toIntExact(e.getValue().size())];
                    double[] gd = new double[g.length];
                    for (int i = 0; i < g.length; i++) {
                        g[i] = (float) random.nextGaussian();
                        gd[i] = g[i];
                    }
                    grads.put(e.getKey(), manager.create(g, e.getValue().getShape()));
                    references.get(e.getKey()).step(expected.get(e.getKey()), gd, lr, scale, c,
                            AdamW.decays(e.getKey(), e.getValue().getShape()));
                }
                adam.step(params, grads, lr, scale);
                grads.values().forEach(NDArray::close);
            }
            params.asMap().forEach((name, p) -> {
                float[] actual = p.toFloatArray();
                double[] want = expected.get(name);
                for (int i = 0; i < actual.length; i++) {
                    assertEquals(want[i], actual[i], 2e-6, name + "[" + i + "]");
                }
            });
            assertEquals(4, adam.steps());
        }
    }
}
