package org.saestream.records;

import java.util.regex.Pattern;

/** Topic names of DESIGN.md, in one place so producers, jobs and the sink cannot disagree. */
public final class Topics {
    public static final String SAE_METRICS = "sae-metrics";
    public static final String SAE_SNAPSHOTS = "sae-snapshots";
    /** Ensemble comparisons (MMCS between the dictionaries of one experiment), keyed by experiment. */
    public static final String SAE_COMPARISONS = "sae-comparisons";
    public static final String SHARD_LEDGER = "shard-ledger";
    /** ProducerMetrics, keyed by run:producer. */
    public static final String PRODUCER_METRICS = "producer-metrics";
    public static final String SPECTRUM = "spectrum";
    /** HessianSpectrum (train-lm --hessian-every: the loss Hessian's top eigenvalues during training), keyed by run. */
    public static final String HESSIAN = "hessian";
    /** FeatureExamples (top-activating contexts per feature and window), keyed by experiment:sae. */
    public static final String SAE_FEATURES = "sae-features";
    /** SaeEval (an SAE snapshot spliced into the model on held-out text), keyed by experiment:sae. */
    public static final String SAE_EVALS = "sae-evals";
    public static final String DLQ_SUFFIX = ".dlq";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,199}");

    private Topics() {
    }

    /** {@code activations.<run>}: the replay source, retained without limit. */
    public static String activations(String run) {
        return "activations." + requireName(run, "run");
    }

    public static String gradients(String run) {
        return "gradients." + requireName(run, "run");
    }

    /** Key of a shard in the compacted shard-ledger topic: shards are per run. */
    public static String ledgerKey(String run, String shardId) {
        return requireName(run, "run") + ":" + shardId;
    }

    public static String deadLetters(String sourceTopic) {
        return sourceTopic + DLQ_SUFFIX;
    }

    /**
     * Key of an SAE in sae-metrics and sae-snapshots, and its id in the HTTP API:
     * {@code <experiment>:<sae>}.
     */
    public static String saeKey(String experiment, String saeId) {
        return requireName(experiment, "experiment") + ":" + requireName(saeId, "sae id");
    }

    /**
     * Names become topic names and directory names: keep them to [A-Za-z0-9._-], starting with a letter or digit,
     * so that none is "." or "..", a hidden file, or an option ("-x").
     */
    public static String requireName(String name, String what) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(what + " '" + name + "' must match " + NAME.pattern());
        }
        return name;
    }
}
