package org.saestream.bench;

import org.saestream.sae.BatchTopK;
import org.saestream.sae.MatryoshkaBatchTopK;
import org.saestream.sae.ReluL1;
import org.saestream.sae.SaeArchitecture;
import org.saestream.sae.SaeConfig;
import org.saestream.sae.TopK;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One shape of {@code saestream bench sae}: an SAE configuration and the tokens each of its measurements
 * (bare and streamed) runs on; 0 tokens means sized from the matmul bound ({@link #tokensFor}).
 */
public record SaeBenchCase(SaeConfig sae, long tokens) {
    /** The sweep's architectures, at k 32 for the k-sparse ones. */
    static final int SWEEP_K = 32;
    static final int SWEEP_BATCH = 4096;
    /** (d_in, d_sae) of the sweep: a Pythia-70M-wide and a GPT-2-small-wide residual stream. */
    static final int[][] SWEEP_SHAPES = {{512, 4096}, {512, 16384}, {768, 24576}};

    public SaeBenchCase {
        if (tokens < 0) {
            throw new IllegalArgumentException("tokens must be >= 0, got " + tokens);
        }
    }

    /**
     * relu, topk (k 32), batchtopk (k 32) and jumprelu at batch 4096 on each sweep shape.
     *
     * @param tokens tokens per measurement, or 0: sized from the matmul bound
     */
    public static List<SaeBenchCase> sweep(long tokens) {
        List<SaeBenchCase> cases = new ArrayList<>();
        for (int[] shape : SWEEP_SHAPES) {
            int d = shape[0];
            int n = shape[1];
            for (SaeConfig c : List.of(SaeConfig.reluL1("relu-" + n, d, n), SaeConfig.topK("topk-" + n, d, n, SWEEP_K),
                    SaeConfig.batchTopK("batchtopk-" + n, d, n, SWEEP_K), SaeConfig.jumpReLU("jumprelu-" + n, d, n))) {
                cases.add(new SaeBenchCase(c.withBatchSize(SWEEP_BATCH), tokens));
            }
        }
        return cases;
    }

    /** Counted the same for every architecture (a sparse decoder may beat the bound): 10 d_in d_sae. */
    public double flopsPerToken() {
        return 10.0 * sae.dIn() * sae.dSae();
    }

    /**
     * The tokens of one measurement: as given, or what the matmul bound would train in {@code seconds},
     * at least two batches, in whole batches.
     */
    public long tokensFor(double boundTokensPerSecond, double seconds) {
        int b = sae.batchSize();
        long wanted = tokens > 0 ? tokens : (long) (boundTokensPerSecond * seconds);
        return Math.max(2, (wanted + b - 1) / b) * b;
    }

    /** "relu B=4096 d_in=512 d_sae=4096" (k for the k-sparse ones). */
    public String label() {
        SaeArchitecture a = sae.architecture();
        String name = a instanceof ReluL1 ? "relu" : a instanceof TopK t ? "topk k=" + t.k()
                : a instanceof BatchTopK t ? "batchtopk k=" + t.k()
                : a instanceof MatryoshkaBatchTopK t ? "matryoshka k=" + t.k() + " widths=" + t.widths() : a.saeLensName();
        return String.format(Locale.ROOT, "%s B=%d d_in=%d d_sae=%d", name, sae.batchSize(), sae.dIn(), sae.dSae());
    }
}
