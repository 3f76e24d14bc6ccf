package org.saestream.e2e;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.saestream.lm.ForwardRequest;
import org.saestream.lm.ForwardResult;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.TokenBatch;
import org.saestream.sae.SaeConfig;
import org.saestream.sae.SaeTrainer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `saestream demo` runs the producer's forward passes in the same JVM as the Flink job's SAE training,
 * both on PyTorch. Activations must not depend on that: they are bitwise the same with an SAE training
 * in another thread as without. Backward passes are another matter: with a concurrent SAE, hook
 * gradients differed in 1 of 24 batches and a language model's training steps drifted (once with a
 * gradient norm of 1.8e11), so anything that calls backward (train-lm, produce --grad) runs in its own
 * JVM: `demo --train-live` starts train-lm as a child process.
 */
class ConcurrentTorchUseTest {
    private static final String HOOK = "blocks.0.hook_resid_post";

    /** One hash per batch of the hook's activations; with {@code saeSteps}, an SAE trains meanwhile. */
    private static List<Integer> forwardPasses(LanguageModel lm, AtomicLong saeSteps) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        Thread sae = new Thread(() -> {
            try (NDManager m = NDManager.newBaseManager(); SaeTrainer t = new SaeTrainer(SaeConfig.reluL1("x", 128, 1024), m)) {
                Random r = new Random(1);
                float[] batch = new float[1024 * 128];
                for (int i = 0; i < batch.length; i++) {
                    batch[i] = (float) r.nextGaussian();
                }
                t.prepare(batch, 1024);
                while (!stop.get()) {
                    t.step(batch, 1024);
                    saeSteps.incrementAndGet();
                }
            }
        }, "concurrent-sae");
        if (saeSteps != null) {
            sae.start();
        }
        List<Integer> hashes = new ArrayList<>();
        Random r = new Random(7);
        try {
            for (int i = 0; i < 32; i++) {
                long[][] ids = new long[8][128];
                for (long[] row : ids) {
                    for (int j = 0; j < row.length; j++) {
                        row[j] = r.nextInt(50000);
                    }
                }
                try (NDManager m = NDManager.newBaseManager();
                     ForwardResult res = lm.forward(m, TokenBatch.of(ids), ForwardRequest.of(HOOK))) {
                    hashes.add(Arrays.hashCode(res.activation(HOOK).toFloatArray()));
                }
            }
        } finally {
            stop.set(true);
            if (saeSteps != null) {
                sae.join();
            }
        }
        return hashes;
    }

    @Test
    void forwardPassesAreUnaffectedByAnSaeTrainingInAnotherThread() throws Exception {
        try (LanguageModel lm = LanguageModel.load(ShippedModelTest.shippedModel())) {
            List<Integer> alone = forwardPasses(lm, null);
            AtomicLong saeSteps = new AtomicLong();
            List<Integer> beside = forwardPasses(lm, saeSteps);
            assertTrue(saeSteps.get() > 0, "the SAE trained while the model ran");
            assertEquals(alone, beside, "activations bitwise equal with and without a concurrent SAE");
        }
    }
}
