package org.saestream.lm;

import java.util.Comparator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A TransformerLens hook point: {@code hook_embed}, {@code blocks.L.hook_resid_pre},
 * {@code blocks.L.hook_attn_out}, {@code blocks.L.hook_resid_mid} (sequential blocks only),
 * {@code blocks.L.ln2.hook_normalized} (the MLP's normalised input, what a transcoder reads), {@code blocks.L.mlp.hook_post}, {@code blocks.L.hook_mlp_out}, {@code blocks.L.hook_resid_post},
 * and {@code ln_final.hook_normalized} (the residual after the final norm, what the unembedding reads).
 *
 * @param kind  which point of the model
 * @param layer block index, or {@link #NO_LAYER} for hook_embed and ln_final.hook_normalized
 */
public record HookPoint(Kind kind, int layer) implements Comparable<HookPoint> {
    public static final int NO_LAYER = -1;

    private static final Pattern BLOCK_HOOK = Pattern.compile("blocks\\.(\\d+)\\.(.+)");
    private static final Comparator<HookPoint> ORDER = Comparator
            .comparingInt((HookPoint h) -> h.kind == Kind.EMBED ? -1 : h.kind == Kind.FINAL_NORM ? Integer.MAX_VALUE : h.layer)
            .thenComparing(HookPoint::kind);

    /** Hook kinds in the order a sequential block reaches them. */
    public enum Kind {
        EMBED("hook_embed", false),
        RESID_PRE("hook_resid_pre", true),
        ATTN_OUT("hook_attn_out", true),
        RESID_MID("hook_resid_mid", true),
        LN2_NORMALIZED("ln2.hook_normalized", true),
        MLP_POST("mlp.hook_post", true),
        MLP_OUT("hook_mlp_out", true),
        RESID_POST("hook_resid_post", true),
        FINAL_NORM("ln_final.hook_normalized", false);

        private final String suffix;
        private final boolean inBlock;

        Kind(String suffix, boolean inBlock) {
            this.suffix = suffix;
            this.inBlock = inBlock;
        }

        public String suffix() {
            return suffix;
        }

        public boolean inBlock() {
            return inBlock;
        }
    }

    public HookPoint {
        if (kind.inBlock && layer < 0) {
            throw new IllegalArgumentException(kind.suffix + " needs a block index >= 0, got " + layer);
        }
        if (!kind.inBlock && layer != NO_LAYER) {
            throw new IllegalArgumentException(kind.suffix + " belongs to no block, got layer " + layer);
        }
    }

    public static HookPoint parse(String name) {
        for (Kind k : Kind.values()) {
            if (!k.inBlock && k.suffix.equals(name)) {
                return new HookPoint(k, NO_LAYER);
            }
        }
        Matcher m = BLOCK_HOOK.matcher(name);
        if (m.matches()) {
            for (Kind k : Kind.values()) {
                if (k.inBlock && k.suffix.equals(m.group(2))) {
                    return new HookPoint(k, Integer.parseInt(m.group(1)));
                }
            }
        }
        throw new IllegalArgumentException("unknown hook point '" + name + "'; expected hook_embed, "
                + "ln_final.hook_normalized or blocks.<L>.{hook_resid_pre, hook_attn_out, hook_resid_mid, "
                + "ln2.hook_normalized, mlp.hook_post, hook_mlp_out, hook_resid_post}");
    }

    public static HookPoint embed() {
        return new HookPoint(Kind.EMBED, NO_LAYER);
    }

    public static HookPoint residPre(int layer) {
        return new HookPoint(Kind.RESID_PRE, layer);
    }

    public static HookPoint attnOut(int layer) {
        return new HookPoint(Kind.ATTN_OUT, layer);
    }

    public static HookPoint residMid(int layer) {
        return new HookPoint(Kind.RESID_MID, layer);
    }

    public static HookPoint ln2Normalized(int layer) {
        return new HookPoint(Kind.LN2_NORMALIZED, layer);
    }

    public static HookPoint mlpPost(int layer) {
        return new HookPoint(Kind.MLP_POST, layer);
    }

    public static HookPoint mlpOut(int layer) {
        return new HookPoint(Kind.MLP_OUT, layer);
    }

    public static HookPoint residPost(int layer) {
        return new HookPoint(Kind.RESID_POST, layer);
    }

    public static HookPoint finalNorm() {
        return new HookPoint(Kind.FINAL_NORM, NO_LAYER);
    }

    /** The TransformerLens name, e.g. {@code blocks.3.hook_resid_post}. */
    public String name() {
        return kind.inBlock ? "blocks." + layer + "." + kind.suffix : kind.suffix;
    }

    /** How many blocks must run before this point exists. */
    public int blocksNeeded(int layers) {
        return switch (kind) {
            case EMBED -> 0;
            case RESID_PRE -> layer;
            case FINAL_NORM -> layers;
            default -> layer + 1;
        };
    }

    @Override
    public int compareTo(HookPoint other) {
        return ORDER.compare(this, other);
    }

    @Override
    public String toString() {
        return name();
    }
}
