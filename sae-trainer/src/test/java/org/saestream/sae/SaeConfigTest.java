package org.saestream.sae;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SaeConfigTest {

    @Test
    void defaultsAreValidAndDescribeReluL1() {
        SaeConfig c = SaeConfig.reluL1("relu-512", 64, 512);
        assertEquals(SaeConfig.DEFAULT_L1_COEFFICIENT, c.l1Coefficient());
        assertEquals(SaeConfig.DEFAULT_LEARNING_RATE, c.learningRate());
        assertEquals(1024, c.batchSize());
        assertEquals(10_000_000L, c.deadWindowTokens());
        assertEquals("", c.hookName());
        assertEquals(new ReluL1(c.l1Coefficient()), c.architecture());
        assertEquals("standard", c.architecture().saeLensName());
        SaeConfig tuned = c.withL1Coefficient(1).withLearningRate(1e-3).withBatchSize(8).withSeed(9)
                .withSource("blocks.2.hook_resid_post", "gpt2").withDeadWindowTokens(7).withAdam(0.8, 0.99, 1e-6);
        assertEquals(new SaeConfig("relu-512", 64, 512, 1, 1e-3, 0.8, 0.99, 1e-6, 8, 9, "blocks.2.hook_resid_post",
                "gpt2", 7), tuned);
    }

    @Test
    void invalidValuesNameTheField() {
        SaeConfig c = SaeConfig.reluL1("x", 4, 8);
        assertField("saeId", () -> SaeConfig.reluL1(" ", 4, 8));
        assertField("dIn", () -> SaeConfig.reluL1("x", 0, 8));
        assertField("dSae", () -> SaeConfig.reluL1("x", 4, -1));
        assertField("l1Coefficient", () -> c.withL1Coefficient(Double.NaN));
        assertField("learningRate", () -> c.withLearningRate(0));
        assertField("beta1", () -> c.withAdam(1.0, 0.9, 1e-8));
        assertField("beta2", () -> c.withAdam(0.9, -0.1, 1e-8));
        assertField("epsilon", () -> c.withAdam(0.9, 0.9, 0));
        assertField("batchSize", () -> c.withBatchSize(0));
        assertField("hookName", () -> c.withSource(null, ""));
        assertField("modelName", () -> c.withSource("", null));
        assertField("deadWindowTokens", () -> c.withDeadWindowTokens(0));
    }

    private static void assertField(String field, org.junit.jupiter.api.function.Executable build) {
        var e = assertThrows(IllegalArgumentException.class, build);
        assertTrue(e.getMessage().startsWith(field), e.getMessage());
    }

    @Test
    void isJavaSerializableForFlinkOperators() throws Exception {
        SaeConfig c = SaeConfig.reluL1("x", 4, 8).withSource("blocks.0.hook_resid_pre", "m");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(c);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            assertEquals(c, in.readObject());
        }
    }
}
