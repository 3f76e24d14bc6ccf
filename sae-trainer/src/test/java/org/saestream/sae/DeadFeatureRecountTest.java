package org.saestream.sae;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The trainer's dead-feature statistics equal an offline recount over the same tokens: each batch is
 * encoded with the parameters before its step (at inference, which for these architectures activates
 * exactly the latents the training pass does; BatchTopK's batch-wide selection differs from its
 * inference threshold, so it is not part of this check), fires are counted, and the dead set is
 * derived by the definition (no fire in the last deadWindowTokens tokens).
 */
class DeadFeatureRecountTest {
    private static final int D = 16;
    private static final int N = 48;

    static Stream<SaeConfig> configs() {
        SaeConfig base = SaeConfig.reluL1("recount", D, N).withBatchSize(128).withSeed(5).withLearningRate(1e-2)
                .withDeadWindowTokens(300);     // not a multiple of the batch: windows end mid-batch
        return Stream.of(base.withL1Coefficient(3),
                base.withArchitecture(new TopK(2, 4, TopK.DEFAULT_AUX_K_COEFFICIENT)),
                base.withArchitecture(new JumpReLU(0.05, 0.05, 0.5)));
    }

    @ParameterizedTest
    @MethodSource("configs")
    void deadSetEqualsAnOfflineRecount(SaeConfig config) {
        long window = config.deadWindowTokens();
        long tokens = 0;
        long windowTokens = 0;
        long[] lastFired = new long[N];
        long[] windowFires = new long[N];
        int maxDead = 0;
        try (NDManager root = NDManager.newBaseManager(); SaeTrainer trainer = new SaeTrainer(config, root)) {
            trainer.prepare(TestBatches.batch(0, 128, D), 128);
            for (int s = 0; s < 30; s++) {
                int rows = 40 + (s * 37) % 89;
                float[] x = TestBatches.batch(s, rows, D);
                float[] latents = trainer.encode(x, rows);           // the pre-step parameters
                trainer.step(x, rows);

                if (windowTokens >= window) {
                    windowTokens = 0;
                    java.util.Arrays.fill(windowFires, 0);
                }
                tokens += rows;
                windowTokens += rows;
                for (int i = 0; i < N; i++) {
                    long fires = 0;
                    for (int b = 0; b < rows; b++) {
                        fires += latents[b * N + i] > 0 ? 1 : 0;
                    }
                    windowFires[i] += fires;
                    if (fires > 0) {
                        lastFired[i] = tokens;
                    }
                }
                boolean[] dead = new boolean[N];
                int deadCount = 0;
                for (int i = 0; i < N; i++) {
                    dead[i] = tokens - lastFired[i] >= window;
                    deadCount += dead[i] ? 1 : 0;
                }
                FeatureStatistics stats = trainer.statistics();
                assertEquals(tokens, stats.tokensSeen());
                assertArrayEquals(lastFired, stats.lastFiredAt(), "last fired, step " + (s + 1));
                assertArrayEquals(windowFires, stats.windowFireCounts(), "fires in the window, step " + (s + 1));
                assertArrayEquals(dead, stats.deadLatents(), "dead set, step " + (s + 1));
                assertEquals(deadCount, stats.deadCount());
                maxDead = Math.max(maxDead, deadCount);
            }
            System.out.printf("dead recount [%s]: agrees over %d tokens; up to %d of %d dead%n",
                    config.architecture().saeLensName(), tokens, maxDead, N);
            assertTrue(maxDead > 0, "the check saw dead features");
        }
    }
}
