package org.saestream.eval;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What {@link SplicedEvaluation} measured (definitions there). Losses are mean next-token cross-entropies in nats,
 * KL divergences mean nats per position.
 */
public record EvalReport(String hook, long windows, long tokens, double lossClean, double lossSpliced,
                         double lossZeroAblated, double lossMeanAblated, double ceLossRecovered, double klSpliced,
                         double klZeroAblated, double klDivScore, double fvu, double l0, double deadFraction,
                         double denseFraction) {

    /** The figures under SAELens-like names, in order, for --json. */
    public Map<String, Object> asMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("hook_name", hook);
        m.put("windows", windows);
        m.put("tokens", tokens);
        m.put("ce_loss_without_sae", lossClean);
        m.put("ce_loss_with_sae", lossSpliced);
        m.put("ce_loss_with_ablation", lossZeroAblated);
        m.put("ce_loss_with_mean_ablation", lossMeanAblated);
        m.put("ce_loss_score", ceLossRecovered);
        m.put("kl_div_with_sae", klSpliced);
        m.put("kl_div_with_ablation", klZeroAblated);
        m.put("kl_div_score", klDivScore);
        m.put("fvu", fvu);
        m.put("l0", l0);
        m.put("dead_fraction", deadFraction);
        m.put("dense_fraction", denseFraction);
        return m;
    }

    /** A readable table. */
    public String table() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "spliced evaluation at %s on %,d tokens (%,d windows)%n", hook, tokens,
                windows));
        row(b, "loss clean", lossClean);
        row(b, "loss spliced (SAE)", lossSpliced);
        row(b, "loss zero-ablated", lossZeroAblated);
        row(b, "loss mean-ablated", lossMeanAblated);
        row(b, "CE loss recovered", ceLossRecovered);
        row(b, "KL spliced || clean", klSpliced);
        row(b, "KL zero-ablated", klZeroAblated);
        row(b, "KL score", klDivScore);
        row(b, "FVU", fvu);
        row(b, "L0", l0);
        row(b, "dead fraction", deadFraction);
        row(b, "dense fraction (>10%)", denseFraction);
        return b.toString();
    }

    private static void row(StringBuilder b, String name, double value) {
        b.append(String.format(Locale.ROOT, "  %-22s %.5f%n", name, value));
    }
}
