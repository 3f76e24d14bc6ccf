package org.saestream.files;

/**
 * The names of an SAE snapshot directory in SAELens layout, in one place for everything that writes or reads one
 * (sae-trainer's SaeLensFormat, the sink, the demos): {@code cfg.json}, {@code sae_weights.safetensors} with
 * {@code W_enc [d_in, d_sae]}, {@code W_dec [d_sae, d_in]}, {@code b_enc [d_sae]}, {@code b_dec [d_in]} (and
 * {@code threshold [d_sae]} for JumpReLU; a transcoder's W_dec and b_dec have d_out columns, and a skip transcoder has
 * {@code W_skip [d_out, d_in]}), {@code sparsity.safetensors} with the log10 feature densities, and
 * saestream's own {@code drift.safetensors} of the latest drift boundary.
 */
public final class SaeLensLayout {
    public static final String CONFIG_FILE = "cfg.json";
    public static final String WEIGHTS_FILE = "sae_weights.safetensors";
    public static final String SPARSITY_FILE = "sparsity.safetensors";
    public static final String DRIFT_FILE = "drift.safetensors";

    public static final String W_ENC = "W_enc";
    public static final String B_ENC = "b_enc";
    public static final String W_DEC = "W_dec";
    public static final String B_DEC = "b_dec";
    /** A skip transcoder's linear skip connection [d_out, d_in] (SAELens "skip_transcoder"). */
    public static final String W_SKIP = "W_skip";
    /** The per-latent JumpReLU threshold SAELens loads (JumpReLU and BatchTopK snapshots). */
    public static final String THRESHOLD_TENSOR = "threshold";
    public static final String SPARSITY_TENSOR = "sparsity";
    public static final String DRIFT_PREVIOUS = "self_similarity_previous";
    public static final String DRIFT_LOOKBACK = "self_similarity_lookback";
    public static final String DRIFT_REACHED_HIGH = "ever_reached_high";
    public static final String DRIFT_FROZEN = "frozen";
    /** Lineage at the boundary (I64 [d_sae]): the feature's one-to-one match at the previous boundary, -1 for none. */
    public static final String LINEAGE_MATCH = "lineage_match";
    /** F32 [d_sae]: the cosine with that match (NaN for none). */
    public static final String LINEAGE_COSINE = "lineage_cosine";
    /** I64 [d_sae]: the index of the feature's kind in {@link #LINEAGE_KINDS}. */
    public static final String LINEAGE_KIND = "lineage_kind";
    /** The lineage kinds by their index in "lineage_kind" (and in SaeMetrics lineage_counts). */
    public static final java.util.List<String> LINEAGE_KINDS =
            java.util.List.of("stable", "drifted", "born", "split", "merged", "died", "dead");
    /** I64 [d_sae]: the other child of a split (a feature now), the other parent of a merge (a previous one), -1. */
    public static final String LINEAGE_PARTNER = "lineage_partner";

    private SaeLensLayout() {
    }
}
