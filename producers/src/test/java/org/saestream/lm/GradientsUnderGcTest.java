package org.saestream.lm;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Parameter gradients do not change when the JVM collects garbage during the forward and backward. DJL's scalar
 * operations ({@code mul(Number)} and the like) wrap the number in a tensor over a Java direct buffer and free it as
 * soon as the op returns, while autograd keeps it for the backward: with a thread forcing collections, a fifth to a
 * third of the gradients of these tiny models came out wrong (q and k through the attention scale, GELU's inputs,
 * everything through the loss's 1/count) until the forward's scalars became tensors its manager owns ({@link Constant}).
 */
class GradientsUnderGcTest {
    private static final int ROUNDS = 100;

    @ParameterizedTest
    @ValueSource(strings = {"gpt_neox", "gpt2", "llama"})
    void gradientsAreTheSameWhateverTheCollectorDoes(String family) throws Exception {
        Thread collector = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                System.gc();
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        collector.setDaemon(true);
        try (LanguageModel model = TinyModels.model(family, ComputeDtype.FLOAT32)) {
            Map<String, float[]> first = gradients(model);
            collector.start();
            Map<String, Integer> differing = new TreeMap<>();
            for (int i = 0; i < ROUNDS; i++) {
                gradients(model).forEach((name, g) -> {
                    if (!Arrays.equals(g, first.get(name))) {
                        differing.merge(name, 1, Integer::sum);
                    }
                });
            }
            assertEquals(Map.of(), differing, family + ": parameters whose gradient changed, in how many of " + ROUNDS
                    + " rounds");
        } finally {
            collector.interrupt();
            collector.join();
        }
    }

    private static Map<String, float[]> gradients(LanguageModel model) {
        try (NDManager out = NDManager.newBaseManager()) {
            ForwardResult r = model.forward(out, TinyModels.batches().get(0),
                    ForwardRequest.of().withLoss().withParameterGradients());
            Map<String, float[]> g = new TreeMap<>();
            r.parameterGradients().forEach((name, a) -> g.put(name, a.toType(DataType.FLOAT32, false).toFloatArray()));
            return g;
        }
    }
}
