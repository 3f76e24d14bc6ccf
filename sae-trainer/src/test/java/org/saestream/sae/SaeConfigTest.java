package org.saestream.sae;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SaeConfigTest {

    @Test
    void defaultsAreValidAndDescribeReluL1() {
        SaeConfig c = SaeConfig.reluL1("relu-512", 64, 512);
        assertEquals(new ReluL1(SaeConfig.DEFAULT_L1_COEFFICIENT), c.architecture());
        assertEquals(SaeConfig.DEFAULT_LEARNING_RATE, c.learningRate());
        assertEquals(1024, c.batchSize());
        assertEquals(10_000_000L, c.deadWindowTokens());
        assertEquals("", c.hookName());
        assertEquals("standard", c.architecture().saeLensName());
        SaeConfig tuned = c.withL1Coefficient(1).withLearningRate(1e-3).withBatchSize(8).withSeed(9)
                .withSource("blocks.2.hook_resid_post", "gpt2").withDeadWindowTokens(7).withAdam(0.8, 0.99, 1e-6);
        assertEquals(new SaeConfig("relu-512", 64, 512, new ReluL1(1), 1e-3, 0.8, 0.99, 1e-6, 8, 9,
                "blocks.2.hook_resid_post", "gpt2", 7), tuned);
        assertEquals(new ReluL1(2, 50), c.withArchitecture(new ReluL1(0.1, 50)).withL1Coefficient(2).architecture(),
                "withL1Coefficient keeps the warm-up");
    }

    @Test
    void factoriesDescribeEachArchitecture() {
        SaeConfig topK = SaeConfig.topK("t", 64, 512, 5);
        assertEquals(new TopK(5, 32, 1.0 / 32), topK.architecture(), "k_aux = d_in / 2, alpha = 1/32");
        assertEquals("topk", topK.architecture().saeLensName());
        assertEquals(new TopK(7, 32, 1.0 / 32), topK.withK(7).architecture());

        SaeConfig batchTopK = SaeConfig.batchTopK("b", 64, 512, 5);
        assertEquals(new BatchTopK(5, 32, 1.0 / 32, 0.01), batchTopK.architecture());
        assertEquals("batchtopk", batchTopK.architecture().saeLensName());
        assertEquals("jumprelu", batchTopK.architecture().inferenceSaeLensName(), "SAELens loads it as JumpReLU");
        assertEquals(9, ((BatchTopK) batchTopK.withK(9).architecture()).k());

        SaeConfig matryoshka = SaeConfig.matryoshkaBatchTopK("m", 64, 512, 5, List.of(32, 128, 512));
        assertEquals(new MatryoshkaBatchTopK(5, 32, 1.0 / 32, 0.01, List.of(32, 128, 512)), matryoshka.architecture());
        assertEquals("matryoshka_batchtopk", matryoshka.architecture().saeLensName());
        assertEquals("jumprelu", matryoshka.architecture().inferenceSaeLensName(), "SAELens saves it as JumpReLU");
        assertEquals(9, ((MatryoshkaBatchTopK) matryoshka.withK(9).architecture()).k());
        assertEquals(List.of(32, 128, 512), ((MatryoshkaBatchTopK) matryoshka.withK(9).architecture()).widths());
        assertEquals(List.of(128, 640, 2688, 10880),
                MatryoshkaBatchTopK.widthsOfGroupSizes(List.of(128, 512, 2048, 8192)), "dictionary_learning's groups");

        SaeConfig jump = SaeConfig.jumpReLU("j", 64, 512);
        assertEquals(new JumpReLU(SaeConfig.DEFAULT_L0_COEFFICIENT, 0.001, 0.001), jump.architecture());
        assertEquals(new JumpReLU(0.5, 0.001, 0.001), SaeConfig.jumpReLU("j", 64, 512, 0.5).architecture());
        assertEquals("jumprelu", jump.architecture().saeLensName());

        for (SaeConfig c : new SaeConfig[]{topK, batchTopK, jump}) {
            assertEquals(SaeConfig.DEFAULT_LEARNING_RATE, c.learningRate());
            assertEquals(SaeConfig.DEFAULT_BATCH_SIZE, c.batchSize());
        }
    }

    @Test
    void invalidValuesNameTheField() {
        SaeConfig c = SaeConfig.reluL1("x", 4, 8);
        assertField("saeId", () -> SaeConfig.reluL1(" ", 4, 8));
        assertField("dIn", () -> SaeConfig.reluL1("x", 0, 8));
        assertField("dSae", () -> SaeConfig.reluL1("x", 4, -1));
        assertField("architecture", () -> c.withArchitecture(null));
        assertField("l1Coefficient", () -> c.withL1Coefficient(Double.NaN));
        assertField("l1WarmUpSteps", () -> new ReluL1(1, -1));
        assertField("learningRate", () -> c.withLearningRate(0));
        assertField("beta1", () -> c.withAdam(1.0, 0.9, 1e-8));
        assertField("beta2", () -> c.withAdam(0.9, -0.1, 1e-8));
        assertField("epsilon", () -> c.withAdam(0.9, 0.9, 0));
        assertField("batchSize", () -> c.withBatchSize(0));
        assertField("hookName", () -> c.withSource(null, ""));
        assertField("modelName", () -> c.withSource("", null));
        assertField("deadWindowTokens", () -> c.withDeadWindowTokens(0));

        assertField("k", () -> SaeConfig.topK("x", 4, 8, 0));
        assertField("k", () -> SaeConfig.topK("x", 4, 8, 9));
        assertField("k", () -> SaeConfig.batchTopK("x", 4, 8, 9));
        assertField("k", () -> c.withK(3));
        assertField("auxK", () -> new TopK(2, -1, 0.1));
        assertField("auxK", () -> SaeConfig.reluL1("x", 4, 8).withArchitecture(new TopK(2, 9, 0.1)));
        assertField("auxKCoefficient", () -> new BatchTopK(2, 1, -1, 0.01));
        assertField("thresholdLearningRate", () -> new BatchTopK(2, 1, 0.1, 0));
        assertField("thresholdLearningRate", () -> new MatryoshkaBatchTopK(2, 1, 0.1, 0, List.of(8)));
        assertField("widths must end at d_sae 8", () -> SaeConfig.matryoshkaBatchTopK("x", 4, 8, 2, List.of(2, 4)));
        assertField("widths must be positive and strictly increasing",
                () -> SaeConfig.matryoshkaBatchTopK("x", 4, 8, 2, List.of(4, 4, 8)));
        assertField("widths must be positive and strictly increasing",
                () -> SaeConfig.matryoshkaBatchTopK("x", 4, 8, 2, List.of(0, 8)));
        assertField("widths must list", () -> SaeConfig.matryoshkaBatchTopK("x", 4, 8, 2, List.of()));
        assertField("l1Coefficient", () -> SaeConfig.topK("x", 4, 8, 2).withL1Coefficient(1));
        assertField("l0Coefficient", () -> new JumpReLU(-1, 0.001, 0.001));
        assertField("bandwidth", () -> new JumpReLU(1, 0, 0.001));
        assertField("initialThreshold", () -> new JumpReLU(1, 0.001, Double.POSITIVE_INFINITY));
    }

    @Test
    void trainingOptionsHaveDefaultsAndNameTheirFields() {
        SaeConfig c = SaeConfig.reluL1("x", 4, 8);
        TrainingOptions defaults = TrainingOptions.defaults();
        assertEquals(defaults, c.options());
        assertEquals(TrainingOptions.DecoderBiasInit.MEAN, defaults.decoderBiasInit());
        assertEquals(false, defaults.normalizeActivations());
        assertEquals(1_000_000L, defaults.driftWindowTokens());
        assertEquals(4, defaults.driftLookback());
        assertEquals(null, defaults.freezing());
        assertEquals(null, defaults.resampling());
        assertEquals(c, new SaeConfig(c.saeId(), c.dIn(), c.dSae(), c.architecture(), c.learningRate(), c.beta1(),
                c.beta2(), c.epsilon(), c.batchSize(), c.seed(), c.hookName(), c.modelName(), c.deadWindowTokens()),
                "the 13-component constructor uses the default options");
        TrainingOptions custom = defaults.withNormalizeActivations(true).withDrift(4096, 2)
                .withFreezing(new TrainingOptions.Freezing(0.99, 3, true))
                .withResampling(new TrainingOptions.Resampling(50_000));
        SaeConfig tuned = c.withOptions(custom).withSeed(4).withLearningRate(1e-3);
        assertEquals(custom, tuned.options(), "with* methods keep the options");

        assertField("options", () -> c.withOptions(null));
        assertField("decoderBiasInit", () -> defaults.withDecoderBiasInit(null));
        assertField("driftWindowTokens", () -> defaults.withDrift(0, 4));
        assertField("driftLookback", () -> defaults.withDrift(1000, 0));
        assertField("driftWindowTokens", () -> c.withOptions(defaults.withDrift(1000, 4)), "below batchSize 1024");
        assertField("freezing.threshold", () -> new TrainingOptions.Freezing(-1, 2, true));
        assertField("freezing.threshold", () -> new TrainingOptions.Freezing(Double.NaN, 2, true));
        assertField("freezing.windows", () -> new TrainingOptions.Freezing(0.9, 0, true));
        assertField("resampling.everyTokens", () -> new TrainingOptions.Resampling(0));
        assertField("resampling", () -> SaeConfig.topK("t", 4, 8, 2)
                .withOptions(defaults.withResampling(new TrainingOptions.Resampling(100_000))));
        assertField("resampling", () -> c.withOptions(defaults.withResampling(new TrainingOptions.Resampling(100_000)))
                .withArchitecture(new JumpReLU(0.1, 0.01, 0.01)));
    }

    private static void assertField(String field, org.junit.jupiter.api.function.Executable build, String why) {
        var e = assertThrows(IllegalArgumentException.class, build, why);
        assertTrue(e.getMessage().startsWith(field), e.getMessage());
    }

    private static void assertField(String field, org.junit.jupiter.api.function.Executable build) {
        var e = assertThrows(IllegalArgumentException.class, build);
        assertTrue(e.getMessage().startsWith(field), e.getMessage());
    }

    @Test
    void isJavaSerializableForFlinkOperators() throws Exception {
        for (SaeConfig c : new SaeConfig[]{SaeConfig.reluL1("x", 4, 8).withSource("blocks.0.hook_resid_pre", "m"),
                SaeConfig.topK("t", 4, 8, 2), SaeConfig.batchTopK("b", 4, 8, 2), SaeConfig.jumpReLU("j", 4, 8),
                SaeConfig.matryoshkaBatchTopK("m", 4, 8, 2, List.of(2, 8)),
                SaeConfig.reluL1("o", 4, 8).withOptions(TrainingOptions.defaults()
                        .withDecoderBiasInit(TrainingOptions.DecoderBiasInit.GEOMETRIC_MEDIAN)
                        .withFreezing(new TrainingOptions.Freezing(0.99, 3, true))
                        .withResampling(new TrainingOptions.Resampling(50_000)))}) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject(c);
            }
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
                assertEquals(c, in.readObject());
            }
        }
    }
}
