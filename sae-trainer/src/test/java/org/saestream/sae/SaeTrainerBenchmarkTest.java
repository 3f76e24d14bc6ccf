package org.saestream.sae;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.util.Locale;
import java.util.Random;

/**
 * Step throughput at LM-SAE sizes. Off by default (seconds per step on 2 cores); run with
 * {@code mvn -o -pl sae-trainer test -Dtest=SaeTrainerBenchmarkTest -Dsaestream.bench=true}
 * and optionally -Dsaestream.bench.shape=B,dIn,dSae and -Dsaestream.bench.architecture=relu|topk|batchtopk|jumprelu
 * (-Dsaestream.bench.k=32 for the k-sparse ones; on Gaussian data nothing is dead, so AuxK is not timed).
 */
@EnabledIfSystemProperty(named = "saestream.bench", matches = "true")
class SaeTrainerBenchmarkTest {

    @Test
    void stepThroughput() {
        String[] shape = System.getProperty("saestream.bench.shape", "4096,512,4096").split(",");
        int batch = Integer.parseInt(shape[0]);
        int dIn = Integer.parseInt(shape[1]);
        int dSae = Integer.parseInt(shape[2]);
        int k = Integer.getInteger("saestream.bench.k", 32);
        SaeConfig config = switch (System.getProperty("saestream.bench.architecture", "relu")) {
            case "relu" -> SaeConfig.reluL1("bench", dIn, dSae);
            case "topk" -> SaeConfig.topK("bench", dIn, dSae, k);
            case "batchtopk" -> SaeConfig.batchTopK("bench", dIn, dSae, k);
            case "jumprelu" -> SaeConfig.jumpReLU("bench", dIn, dSae);
            default -> throw new IllegalArgumentException("saestream.bench.architecture: relu, topk, batchtopk or jumprelu");
        };
        config = config.withBatchSize(batch);
        Random random = new Random(0);
        float[] x = new float[batch * dIn];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        try (NDManager root = NDManager.newBaseManager(); SaeTrainer trainer = new SaeTrainer(config, root)) {
            for (int s = 0; s < Integer.getInteger("saestream.bench.warmup", 2); s++) {
                trainer.step(x, batch);
            }
            int steps = Integer.getInteger("saestream.bench.steps", 5);
            long t0 = System.nanoTime();
            for (int s = 0; s < steps; s++) {
                trainer.step(x, batch);
            }
            double perStep = (System.nanoTime() - t0) / 1e9 / steps;
            long e0 = System.nanoTime();
            byte[] state = trainer.exportState();
            double export = (System.nanoTime() - e0) / 1e9;
            System.out.printf(Locale.ROOT, "SAE step %s B=%d d=%d n=%d: %.1f ms/step, %.0f tokens/s; exportState %.1f MB"
                    + " in %.0f ms%n", config.architecture().saeLensName(), batch, dIn, dSae, perStep * 1e3,
                    batch / perStep, state.length / 1e6, export * 1e3);
        }
    }
}
