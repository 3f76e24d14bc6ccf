package org.saestream.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Conformance with Hugging Face transformers on the tiny reference models (GPT-2 in float32, Pythia in
 * float16, Llama in bfloat16): activations, logits, log-probabilities, loss, gradients and the padded batch.
 */
class ConformanceTest {
    private static final Map<String, LanguageModel> MODELS = new HashMap<>();

    static synchronized LanguageModel model(String family) {
        return MODELS.computeIfAbsent(family, f -> LanguageModel.load(HfFixtures.model(f)));
    }

    @AfterAll
    static void closeAndReport() {
        MODELS.values().forEach(LanguageModel::close);
        MODELS.clear();
        HfFixtures.printWorstErrors();
    }

    private static long[] ids(Safetensors.Contents refs, String name) {
        return refs.tensors().get(name).toLongs();
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neox", "llama"})
    void activationsLossAndResidualGradientsOfEveryText(String family) {
        LanguageModel model = model(family);
        Safetensors.Contents refs = HfFixtures.refs(family);
        int layers = model.dims().layers();
        for (int text = 0; text < 4; text++) {
            long[] ids = ids(refs, "input_ids_" + text);
            int t = ids.length;
            List<String> hooks = new ArrayList<>();
            List<String> residPost = new ArrayList<>();
            for (int l = 0; l < layers; l++) {
                hooks.add("blocks." + l + ".hook_resid_pre");
                hooks.add("blocks." + l + ".hook_resid_post");
                hooks.add("blocks." + l + ".mlp.hook_post");
                residPost.add("blocks." + l + ".hook_resid_post");
            }
            ForwardRequest request = ForwardRequest.of(hooks.toArray(String[]::new))
                    .withGradients(residPost.toArray(String[]::new));
            if (text == 0) {
                request = request.withLogits();
            }
            try (NDManager out = NDManager.newBaseManager()) {
                ForwardResult r = model.forward(out, TokenBatch.of(ids), request);
                float[] residPreRef = refs.tensors().get("resid_pre_" + text).toFloats();
                float[] residPostRef = refs.tensors().get("resid_post_" + text).toFloats();
                float[] mlpRef = refs.tensors().get("mlp_hidden_" + text).toFloats();
                float[] gradRef = refs.tensors().get("grad_resid_post_" + text).toFloats();
                for (int l = 0; l < layers; l++) {
                    int d = model.dims().width();
                    int m = model.dims().mlpWidth();
                    HfFixtures.check(family, "resid_pre", r.activation("blocks." + l + ".hook_resid_pre").toFloatArray(),
                            residPreRef, l * t * d);
                    HfFixtures.check(family, "resid_post", r.activation("blocks." + l + ".hook_resid_post").toFloatArray(),
                            residPostRef, l * t * d);
                    HfFixtures.check(family, "mlp.hook_post", r.activation("blocks." + l + ".mlp.hook_post").toFloatArray(),
                            mlpRef, l * t * m);
                    HfFixtures.check(family, "grad resid_post", r.gradient("blocks." + l + ".hook_resid_post").toFloatArray(),
                            gradRef, l * t * d);
                }
                HfFixtures.check(family, "log-probs next", r.nextTokenLogProbs().orElseThrow().toFloatArray(),
                        refs.tensors().get("logprobs_next_" + text).toFloats());
                HfFixtures.check(family, "loss", new float[] {(float) r.loss().orElseThrow()},
                        refs.tensors().get("loss_" + text).toFloats());
                if (text == 0) {
                    NDArray logits = r.logits().orElseThrow();
                    assertEquals(model.dims().vocabSize(), logits.getShape().get(2));
                    HfFixtures.check(family, "logits", logits.toFloatArray(), refs.tensors().get("logits_0").toFloats());
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neox", "llama"})
    void parameterGradientsOfText0(String family) {
        LanguageModel model = model(family);
        Safetensors.Contents refs = HfFixtures.refs(family);
        JsonNode norms = HfFixtures.json(HfFixtures.model(family).resolve("refs.json")).get("param_grad_norms_0");
        try (NDManager out = NDManager.newBaseManager()) {
            ForwardResult r = model.forward(out, TokenBatch.of(ids(refs, "input_ids_0")),
                    new ForwardRequest(java.util.Set.of(), java.util.Set.of(), false, true, true));
            assertEquals(model.parameters().names(), r.parameterGradients().keySet());
            int listed = 0;
            for (Map.Entry<String, Tensor> e : refs.tensors().entrySet()) {
                if (e.getKey().startsWith("param_grad_0/")) {
                    String name = e.getKey().substring("param_grad_0/".length());
                    HfFixtures.check(family, "param grads (listed)", r.parameterGradient(name).toFloatArray(),
                            e.getValue().toFloats());
                    listed++;
                }
            }
            assertTrue(listed > 0, "no param_grad_0/* tensors in the fixture");
            // every parameter: the gradient norm HF reported
            for (Iterator<Map.Entry<String, JsonNode>> it = norms.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                float norm = r.parameterGradient(e.getKey()).norm().getFloat();
                HfFixtures.check(family, "param grad norms (all)", new float[] {norm},
                        new float[] {(float) e.getValue().asDouble()});
            }
            assertEquals(norms.size(), r.parameterGradients().size(), "HF lists a norm for every parameter");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "neox", "llama"})
    void rightPaddedBatch(String family) {
        LanguageModel model = model(family);
        Safetensors.Contents refs = HfFixtures.refs(family);
        Tensor idsTensor = refs.tensors().get("batch_input_ids");
        int b = (int) idsTensor.shape()[0];
        int t = (int) idsTensor.shape()[1];
        long[] flatIds = idsTensor.toLongs();
        long[] flatMask = refs.tensors().get("batch_attention_mask").toLongs();
        long[][] ids = new long[b][t];
        long[][] mask = new long[b][t];
        for (int i = 0; i < b; i++) {
            System.arraycopy(flatIds, i * t, ids[i], 0, t);
            System.arraycopy(flatMask, i * t, mask[i], 0, t);
        }
        TokenBatch batch = TokenBatch.withMask(ids, mask);
        assertTrue(batch.padded(), "the fixture batch is padded");
        int layers = model.dims().layers();
        int d = model.dims().width();
        List<String> hooks = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            hooks.add("blocks." + l + ".hook_resid_pre"); // hidden_states[l]
        }
        hooks.add("ln_final.hook_normalized");          // hidden_states[L]: after the final norm
        float[] expected = refs.tensors().get("batch_hidden_states").toFloats(); // [L+1, B, T, d]
        try (NDManager out = NDManager.newBaseManager()) {
            ForwardResult r = model.forward(out, batch, ForwardRequest.of(hooks.toArray(String[]::new)).withLoss());
            for (int index = 0; index <= layers; index++) {
                float[] actual = r.activation(hooks.get(index)).toFloatArray(); // [B, T, d]
                for (int row = 0; row < b; row++) {
                    int len = batch.lengths()[row];
                    float[] real = new float[len * d];
                    System.arraycopy(actual, row * t * d, real, 0, len * d);
                    HfFixtures.check(family, "padded batch hidden", real, expected, ((index * b) + row) * t * d);
                }
            }
            // each row's log-probs equal the unpadded text's, and padding contributes nothing
            float[] logProbs = r.nextTokenLogProbs().orElseThrow().toFloatArray(); // [B, T-1]
            double lossSum = 0;
            int count = 0;
            for (int row = 0; row < b; row++) {
                int len = batch.lengths()[row];
                float[] ref = refs.tensors().get("logprobs_next_" + row).toFloats();
                float[] real = new float[len - 1];
                System.arraycopy(logProbs, row * (t - 1), real, 0, len - 1);
                HfFixtures.check(family, "padded batch log-probs", real, ref);
                for (int i = len - 1; i < t - 1; i++) {
                    assertEquals(0f, logProbs[row * (t - 1) + i], 0f, "padding position has no log-prob");
                }
                for (float v : ref) {
                    lossSum -= v;
                }
                count += len - 1;
            }
            HfFixtures.check(family, "padded batch loss", new float[] {(float) r.loss().orElseThrow()},
                    new float[] {(float) (lossSum / count)});
        }
    }
}
