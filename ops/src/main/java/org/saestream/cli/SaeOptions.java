package org.saestream.cli;

import org.saestream.jobs.SaeJobConfig;
import org.saestream.sae.SaeConfig;
import org.saestream.sae.Target;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Options that define the SAE and its batching, shared by every command that trains. */
public final class SaeOptions {
    @Option(names = "--sae-id", description = "Name of the SAE (default: <architecture>-<d_sae>, e.g. relu-1024)")
    String saeId;

    @Option(names = "--d-in", description = "Activation width (default: the width of the records or model the "
            + "command reads; 64 where it makes its own data)")
    Integer dIn;

    @Option(names = "--d-sae", description = "Dictionary size (default: 8 x d_in)")
    Integer dSae;

    /** The architectures the command line offers, by the name it takes. */
    enum Architecture { relu, topk, batchtopk, matryoshka_batchtopk, jumprelu }

    @Option(names = "--architecture",
            description = "SAE architecture: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}, ReLU + L1)")
    Architecture architecture = Architecture.relu;

    @Option(names = "--k", description = "Latents kept per token for topk, on average for batchtopk and "
            + "matryoshka_batchtopk (required for those)")
    Integer k;

    @Option(names = "--matryoshka-widths", split = ",", paramLabel = "W1,W2,...",
            description = "matryoshka_batchtopk: the nested prefixes' sizes, strictly increasing (SAELens's "
                    + "matryoshka_widths; d_sae is added as the last one when missing). Default: d_sae/16, d_sae/4, d_sae")
    List<Integer> matryoshkaWidths;

    @Option(names = "--l1", description = "L1 coefficient, relu only (default: the trainer's)")
    Double l1;

    @Option(names = "--lr", description = "Adam learning rate (default: the trainer's)")
    Double learningRate;

    @Option(names = "--batch-size", description = "Tokens per SAE step (default: the trainer's)")
    Integer batchSize;

    @Option(names = "--dead-window", paramLabel = "TOKENS", description = "A latent is dead when it has not fired in"
            + " this many tokens (TopK and BatchTopK then train it with AuxK) (default: 10000000)")
    Long deadWindowTokens;

    @Option(names = "--seed", description = "SAE init and shuffle seed (default: ${DEFAULT-VALUE})")
    long seed = 0;

    @Option(names = "--hook", description = "Train on blocks of this hook only (default: every hook in the topic)")
    String hookName;

    @Option(names = "--hook-out", paramLabel = "HOOK", description = "Train a transcoder: reconstruct this hook's "
            + "activations of the same tokens from --hook's (e.g. --hook blocks.0.ln2.hook_normalized --hook-out "
            + "blocks.0.hook_mlp_out); rows of the two hooks are paired by token")
    String hookNameOut;

    @Option(names = "--d-out", description = "Width of --hook-out's activations (default: --d-in)")
    Integer dOut;

    @Option(names = "--skip-connection", description = "A transcoder with a linear skip connection W_skip (SAELens "
            + "skip_transcoder)")
    boolean skipConnection;

    @Option(names = "--mixing-buffer", description = "Tokens shuffled together; 0 = 8 batches (default: ${DEFAULT-VALUE})")
    int mixingBufferTokens = 0;

    @Option(names = "--snapshot-every", description = "Tokens per drift window: a snapshot (with self-similarity "
            + "against the previous one) is taken at each window boundary and at the end (default: 1000000; "
            + "65536 for demo --source lm, 32768 for demo --train-live)")
    Long snapshotEveryTokens;
    static final long DEFAULT_SNAPSHOT_EVERY = 1_000_000;

    @Option(names = "--reference", description = "A dictionary to score the SAE against live (SAELens directory, or "
            + "safetensors with W_dec [n, d_in], e.g. a synthetic run's ground truth)")
    Path reference;

    /**
     * What a command knows when the user said nothing: the width of its data, the L1 coefficient it prefers for
     * ReLU SAEs (null: the trainer's), and its drift window.
     */
    record Defaults(int dIn, Double l1, long snapshotEveryTokens) {
        static Defaults width(int dIn) {
            return new Defaults(dIn, null, DEFAULT_SNAPSHOT_EVERY);
        }

        Defaults withL1(double coefficient) {
            return new Defaults(dIn, coefficient, snapshotEveryTokens);
        }

        Defaults withSnapshotEvery(long tokens) {
            return new Defaults(dIn, l1, tokens);
        }
    }

    /** The activation width: --d-in, else {@code fallback}. */
    int dIn(int fallback) {
        return dIn != null ? dIn : fallback;
    }

    SaeConfig saeConfig(Defaults defaults) {
        int width = dIn(defaults.dIn());
        int dictionary = dSae != null ? dSae : 8 * width;
        String id = saeId != null ? saeId : architecture + "-" + dictionary;
        Double l1 = this.l1 != null ? this.l1 : architecture == Architecture.relu ? defaults.l1() : null;
        if (this.l1 != null && architecture != Architecture.relu) {
            throw new IllegalArgumentException("--l1 applies to --architecture relu only, not " + architecture);
        }
        boolean usesK = architecture == Architecture.topk || architecture == Architecture.batchtopk
                || architecture == Architecture.matryoshka_batchtopk;
        if (k == null && usesK) {
            throw new IllegalArgumentException("--architecture " + architecture + " needs --k");
        }
        if (k != null && !usesK) {
            throw new IllegalArgumentException("--k applies to --architecture topk, batchtopk or matryoshka_batchtopk"
                    + " only, not " + architecture);
        }
        if (matryoshkaWidths != null && architecture != Architecture.matryoshka_batchtopk) {
            throw new IllegalArgumentException("--matryoshka-widths applies to --architecture matryoshka_batchtopk only,"
                    + " not " + architecture);
        }
        SaeConfig base = switch (architecture) {
            case relu -> l1 != null ? SaeConfig.reluL1(id, width, dictionary).withL1Coefficient(l1)
                    : SaeConfig.reluL1(id, width, dictionary);
            case topk -> SaeConfig.topK(id, width, dictionary, k);
            case batchtopk -> SaeConfig.batchTopK(id, width, dictionary, k);
            case matryoshka_batchtopk -> SaeConfig.matryoshkaBatchTopK(id, width, dictionary, k,
                    matryoshkaWidths(dictionary));
            case jumprelu -> SaeConfig.jumpReLU(id, width, dictionary);
        };
        SaeConfig sae = new SaeConfig(base.saeId(), base.dIn(), base.dSae(), base.architecture(),
                learningRate != null ? learningRate : base.learningRate(),
                base.beta1(), base.beta2(), base.epsilon(),
                batchSize != null ? batchSize : base.batchSize(),
                seed, hookName != null ? hookName : base.hookName(), base.modelName(),
                deadWindowTokens != null ? deadWindowTokens : base.deadWindowTokens());
        long window = snapshotEveryTokens != null ? snapshotEveryTokens : defaults.snapshotEveryTokens();
        return sae.withOptions(sae.options().withDrift(window, sae.options().driftLookback())).withTarget(target(width));
    }

    /** A transcoder's target with --hook-out, else the SAE's own input. */
    private Target target(int width) {
        if (hookNameOut == null) {
            if (dOut != null || skipConnection) {
                throw new IllegalArgumentException((dOut != null ? "--d-out" : "--skip-connection")
                        + " applies to transcoders only: give --hook-out, the hook to reconstruct");
            }
            return Target.OWN_INPUT;
        }
        if (hookName == null) {
            throw new IllegalArgumentException("--hook-out needs --hook, the one hook a transcoder reads");
        }
        return new Target.OtherHook(hookNameOut, dOut != null ? dOut : width, skipConnection);
    }

    /** --matryoshka-widths with d_sae appended when missing (as SAELens does), or d_sae/16, d_sae/4, d_sae. */
    private List<Integer> matryoshkaWidths(int dictionary) {
        if (matryoshkaWidths == null) {
            return java.util.stream.IntStream.of(dictionary / 16, dictionary / 4, dictionary).filter(w -> w > 0)
                    .distinct().boxed().toList();
        }
        List<Integer> widths = new ArrayList<>(matryoshkaWidths);
        if (!widths.isEmpty() && widths.get(widths.size() - 1) < dictionary) {
            widths.add(dictionary);
        }
        return widths;
    }

    SaeJobConfig jobConfig(String experiment, String topic, Defaults defaults) {
        SaeConfig sae = saeConfig(defaults);
        int buffer = mixingBufferTokens > 0 ? mixingBufferTokens : 8 * sae.batchSize();
        SaeJobConfig job = SaeJobConfig.single(experiment, topic, hookName, sae, buffer);
        return reference == null ? job : job.withReferenceDictionary(reference.toAbsolutePath().toString());
    }
}
