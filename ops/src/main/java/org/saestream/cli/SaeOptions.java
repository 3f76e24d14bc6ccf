package org.saestream.cli;

import org.saestream.jobs.SaeJobConfig;
import org.saestream.sae.SaeConfig;
import picocli.CommandLine.Option;

/** Options that define the SAE and its batching, shared by every command that trains. */
public final class SaeOptions {
    @Option(names = "--sae-id", description = "Name of the SAE (default: ${DEFAULT-VALUE})")
    String saeId = "relu-512";

    @Option(names = "--d-in", description = "Activation width (default: ${DEFAULT-VALUE})")
    int dIn = 64;

    @Option(names = "--d-sae", description = "Dictionary size (default: ${DEFAULT-VALUE})")
    int dSae = 512;

    @Option(names = "--l1", description = "L1 coefficient (default: the trainer's)")
    Double l1;

    @Option(names = "--lr", description = "Adam learning rate (default: the trainer's)")
    Double learningRate;

    @Option(names = "--batch-size", description = "Tokens per SAE step (default: the trainer's)")
    Integer batchSize;

    @Option(names = "--seed", description = "SAE init and shuffle seed (default: ${DEFAULT-VALUE})")
    long seed = 0;

    @Option(names = "--hook", description = "Train on blocks of this hook only (default: every hook in the topic)")
    String hookName;

    @Option(names = "--mixing-buffer", description = "Tokens shuffled together; 0 = 8 batches (default: ${DEFAULT-VALUE})")
    int mixingBufferTokens = 0;

    @Option(names = "--snapshot-every", description = "Tokens between snapshots (default: ${DEFAULT-VALUE})")
    long snapshotEveryTokens = 1_000_000;

    SaeConfig saeConfig() {
        SaeConfig base = SaeConfig.reluL1(saeId, dIn, dSae);
        return new SaeConfig(base.saeId(), base.dIn(), base.dSae(),
                l1 != null ? l1 : base.l1Coefficient(),
                learningRate != null ? learningRate : base.learningRate(),
                base.beta1(), base.beta2(), base.epsilon(),
                batchSize != null ? batchSize : base.batchSize(),
                seed, hookName != null ? hookName : base.hookName(), base.modelName(), base.deadWindowTokens());
    }

    SaeJobConfig jobConfig(String experiment, String topic) {
        SaeConfig sae = saeConfig();
        int buffer = mixingBufferTokens > 0 ? mixingBufferTokens : 8 * sae.batchSize();
        return new SaeJobConfig(experiment, topic, hookName, sae, buffer, snapshotEveryTokens,
                SaeJobConfig.DEFAULT_CHUNK_BYTES);
    }
}
