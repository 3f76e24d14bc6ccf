package org.saestream.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hook names, early stopping, batches, gradients at inner hooks, and memory hygiene of the forward. */
class ForwardBehaviourTest {
    private static final Map<String, LanguageModel> MODELS = new HashMap<>();

    /** Loaded on first use, so each test (not the class) reports the skip when the fixtures are absent. */
    private static synchronized LanguageModel model(String family) {
        return MODELS.computeIfAbsent(family, f -> LanguageModel.load(HfFixtures.model(f)));
    }

    @AfterAll
    static void close() {
        MODELS.values().forEach(LanguageModel::close);
        MODELS.clear();
    }

    private static long[] text(int i) {
        return HfFixtures.refs("gpt2").tensors().get("input_ids_" + i).toLongs();
    }

    @Test
    void hookNamesRoundTripAndOrder() {
        for (String name : List.of("hook_embed", "blocks.0.hook_resid_pre", "blocks.3.hook_resid_mid",
                "blocks.1.hook_attn_out", "blocks.1.hook_mlp_out", "blocks.11.mlp.hook_post",
                "blocks.2.hook_resid_post", "ln_final.hook_normalized", "blocks.2.ln2.hook_normalized")) {
            assertEquals(name, HookPoint.parse(name).name());
        }
        for (String bad : List.of("blocks.x.hook_resid_pre", "hook_resid_pre", "blocks.0.hook_nothing", "blocks.-1.hook_mlp_out")) {
            assertThrows(IllegalArgumentException.class, () -> HookPoint.parse(bad), bad);
        }
        assertTrue(HookPoint.parse("blocks.1.hook_resid_pre").compareTo(HookPoint.parse("blocks.0.hook_resid_post")) > 0);
        assertTrue(HookPoint.parse("hook_embed").compareTo(HookPoint.parse("blocks.0.hook_resid_pre")) < 0);
        assertTrue(HookPoint.parse("ln_final.hook_normalized").compareTo(HookPoint.parse("blocks.9.hook_resid_post")) > 0);
    }

    @Test
    void forwardStopsAfterTheDeepestHook() {
        assertEquals(0, ForwardRequest.of("hook_embed").blocksToRun(6));
        assertEquals(3, ForwardRequest.of("blocks.3.hook_resid_pre").blocksToRun(6));
        assertEquals(4, ForwardRequest.of("blocks.1.hook_attn_out", "blocks.3.hook_resid_post").blocksToRun(6));
        assertEquals(6, ForwardRequest.of("blocks.0.hook_resid_post").withLoss().blocksToRun(6));
        assertEquals(6, ForwardRequest.of().withGradients("blocks.0.hook_resid_post").blocksToRun(6));

        long[] ids = text(0);
        try (NDManager out = NDManager.newBaseManager()) {
            ForwardResult early = model("gpt2").forward(out, TokenBatch.of(ids), ForwardRequest.of("blocks.0.hook_resid_post"));
            assertTrue(early.logits().isEmpty() && early.loss().isEmpty());
            ForwardResult full = model("gpt2").forward(out, TokenBatch.of(ids),
                    ForwardRequest.of("blocks.0.hook_resid_post").withLogits());
            assertArrayEquals(full.activation("blocks.0.hook_resid_post").toFloatArray(),
                    early.activation("blocks.0.hook_resid_post").toFloatArray());
        }
    }

    @Test
    void innerHooksAddUpAndHaveGradients() {
        long[] ids = text(1);
        String[] hooks = {"hook_embed", "blocks.1.hook_resid_pre", "blocks.1.hook_attn_out", "blocks.1.hook_resid_mid",
                "blocks.1.hook_mlp_out", "blocks.1.hook_resid_post", "blocks.1.mlp.hook_post"};
        try (NDManager out = NDManager.newBaseManager()) {
            ForwardResult r = model("gpt2").forward(out, TokenBatch.of(ids), ForwardRequest.of(hooks).withGradients(hooks));
            NDArray pre = r.activation("blocks.1.hook_resid_pre");
            NDArray mid = r.activation("blocks.1.hook_resid_mid");
            NDArray post = r.activation("blocks.1.hook_resid_post");
            assertArrayEquals(pre.add(r.activation("blocks.1.hook_attn_out")).toFloatArray(), mid.toFloatArray(), 1e-6f);
            assertArrayEquals(mid.add(r.activation("blocks.1.hook_mlp_out")).toFloatArray(), post.toFloatArray(), 1e-6f);
            assertEquals(List.of(1L, (long) ids.length, 128L), Arrays.stream(r.activation("blocks.1.mlp.hook_post")
                    .getShape().getShape()).boxed().toList());
            // every hooked activation has a gradient of its own shape
            for (String h : hooks) {
                assertEquals(r.activation(h).getShape(), r.gradient(h).getShape(), h);
                assertTrue(r.gradient(h).abs().sum().getFloat() > 0, "non-zero gradient at " + h);
            }
            // resid_post = resid_mid + mlp_out, so d(loss)/d(mlp_out) = d(loss)/d(resid_post)
            assertArrayEquals(r.gradient("blocks.1.hook_resid_post").toFloatArray(),
                    r.gradient("blocks.1.hook_mlp_out").toFloatArray(), 1e-7f);
        }
    }

    /**
     * ln2.hook_normalized is exactly what the MLP reads (what a transcoder reads): the MLP works token by token, so
     * splicing in another text's ln2 activations gives that text's hook_mlp_out, bit for bit up to float rounding,
     * and leaves everything before the MLP alone.
     */
    @Test
    void ln2HookIsTheMlpInput() {
        for (String family : List.of("gpt2", "neox")) {
            LanguageModel lm = model(family);
            long[] a = text(0);
            long[] b = Arrays.copyOf(text(1), a.length);
            String ln2 = "blocks.1.ln2.hook_normalized";
            String out = "blocks.1.hook_mlp_out";
            String attn = "blocks.1.hook_attn_out";
            try (NDManager m = NDManager.newBaseManager()) {
                ForwardResult other = lm.forward(m, TokenBatch.of(b), ForwardRequest.of(ln2, out));
                NDArray otherLn2 = other.activation(ln2);
                ForwardResult clean = lm.forward(m, TokenBatch.of(a), ForwardRequest.of(attn, out));
                ForwardResult spliced = lm.forward(m, TokenBatch.of(a), ForwardRequest.of(attn, out),
                        Map.of(ln2, x -> otherLn2));
                assertArrayEquals(other.activation(out).toFloatArray(), spliced.activation(out).toFloatArray(), 1e-5f,
                        family + ": the MLP's output follows its input");
                assertArrayEquals(clean.activation(attn).toFloatArray(), spliced.activation(attn).toFloatArray(),
                        family + ": nothing before the MLP changes");
                assertFalse(Arrays.equals(clean.activation(out).toFloatArray(), spliced.activation(out).toFloatArray()));
            }
        }
    }

    @Test
    void parallelResidualHasNoResidMid() {
        LanguageModel neox = model("neox"); // outside assertThrows, so absent fixtures skip rather than fail
        var e = assertThrows(IllegalArgumentException.class, () -> {
            try (NDManager out = NDManager.newBaseManager()) {
                neox.forward(out, TokenBatch.of(text(0)), ForwardRequest.of("blocks.0.hook_resid_mid"));
            }
        });
        assertTrue(e.getMessage().contains("use_parallel_residual"), e.getMessage());
        var layer = assertThrows(IllegalArgumentException.class, () -> {
            try (NDManager out = NDManager.newBaseManager()) {
                neox.forward(out, TokenBatch.of(text(0)), ForwardRequest.of("blocks.2.hook_resid_post"));
            }
        });
        assertTrue(layer.getMessage().contains("2 blocks"), layer.getMessage());
    }

    @Test
    void equalLengthBatchMatchesSingleRows() {
        long[] a = Arrays.copyOf(text(1), 9);
        long[] b = text(3); // 9 tokens
        try (NDManager out = NDManager.newBaseManager()) {
            ForwardRequest request = ForwardRequest.of("blocks.1.hook_resid_post").withLoss();
            ForwardResult batch = model("neox").forward(out, TokenBatch.of(a, b), request);
            float[] both = batch.activation("blocks.1.hook_resid_post").toFloatArray();
            float[] first = model("neox").forward(out, TokenBatch.of(a), request).activation("blocks.1.hook_resid_post").toFloatArray();
            float[] second = model("neox").forward(out, TokenBatch.of(b), request).activation("blocks.1.hook_resid_post").toFloatArray();
            assertArrayEquals(first, Arrays.copyOfRange(both, 0, first.length), 1e-6f);
            assertArrayEquals(second, Arrays.copyOfRange(both, first.length, both.length), 1e-6f);
        }
    }

    @Test
    void forwardLeavesNothingBehind() {
        NDManager modelManager = model("gpt2").parameters().get("transformer.wte.weight").getManager();
        int before = modelManager.getManagedArrays().size();
        try (NDManager out = NDManager.newBaseManager()) {
            for (int i = 0; i < 3; i++) {
                ForwardRequest request = ForwardRequest.of("blocks.0.hook_resid_post")
                        .withGradients("blocks.0.hook_resid_post").withParameterGradients().withLogits();
                try (ForwardResult r = model("gpt2").forward(out, TokenBatch.of(text(0)), request)) {
                    assertFalse(r.parameterGradients().isEmpty());
                }
            }
            assertEquals(before, modelManager.getManagedArrays().size(), "arrays left on the model's manager");
            long open = out.getManagedArrays().stream().filter(a -> !a.isReleased()).count();
            assertEquals(0, open, "arrays left open on the caller's manager after closing the results");
        }
    }

    @Test
    void parameterGradientsDoNotAccumulateAcrossCalls() {
        ForwardRequest request = new ForwardRequest(Set.of(), Set.of(), false, true, true);
        try (NDManager out = NDManager.newBaseManager()) {
            float[] first = model("gpt2").forward(out, TokenBatch.of(text(0)), request).parameterGradient("transformer.h.0.ln_1.weight").toFloatArray();
            float[] second = model("gpt2").forward(out, TokenBatch.of(text(0)), request).parameterGradient("transformer.h.0.ln_1.weight").toFloatArray();
            assertArrayEquals(first, second);
        }
        assertFalse(model("gpt2").parameters().get("transformer.h.0.ln_1.weight").hasGradient(), "weights never require gradients");
    }

    @Test
    void badBatchesFailWithReasons() {
        LanguageModel gpt2 = model("gpt2");
        assertThrows(IllegalArgumentException.class, () -> TokenBatch.of(new long[] {1, 2}, new long[] {3}));
        assertThrows(IllegalArgumentException.class, () -> TokenBatch.withMask(new long[][] {{1, 2, 3}}, new long[][] {{1, 0, 1}}));
        try (NDManager out = NDManager.newBaseManager()) {
            var vocab = assertThrows(IllegalArgumentException.class,
                    () -> gpt2.forward(out, TokenBatch.of(new long[] {50257}), ForwardRequest.of("hook_embed")));
            assertTrue(vocab.getMessage().contains("vocabulary"), vocab.getMessage());
            var tooLong = assertThrows(IllegalArgumentException.class,
                    () -> gpt2.forward(out, TokenBatch.of(new long[129]), ForwardRequest.of("hook_embed")));
            assertTrue(tooLong.getMessage().contains("128 positions"), tooLong.getMessage());
            var oneToken = assertThrows(IllegalArgumentException.class,
                    () -> gpt2.forward(out, TokenBatch.of(new long[] {5}), ForwardRequest.of().withLoss()));
            assertTrue(oneToken.getMessage().contains("two or more tokens"), oneToken.getMessage());
        }
    }
}
