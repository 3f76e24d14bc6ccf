package org.saestream.lm;

import java.util.Arrays;
import java.util.Collections;
import java.util.Set;
import java.util.TreeSet;

/**
 * What one forward should produce. Without logits, loss or gradients the forward stops after the
 * deepest requested hook (it runs the block holding it to its end, or stops before the block when that
 * hook is its resid_pre). Any gradient implies the full forward and the loss.
 *
 * @param hooks              activations to return
 * @param gradientHooks      hook points whose d(loss)/d(activation) to return (need not be in hooks)
 * @param logits             return the logits [B, T, vocab]
 * @param loss               return the mean next-token loss and the per-token log-probabilities
 * @param parameterGradients return d(loss)/d(parameter) for every parameter, by canonical HF name
 */
public record ForwardRequest(Set<HookPoint> hooks, Set<HookPoint> gradientHooks, boolean logits, boolean loss,
                             boolean parameterGradients) {
    public ForwardRequest {
        hooks = Collections.unmodifiableSet(new TreeSet<>(hooks));
        gradientHooks = Collections.unmodifiableSet(new TreeSet<>(gradientHooks));
        loss = loss || !gradientHooks.isEmpty() || parameterGradients;
    }

    /** Activations at the named hooks (TransformerLens names), nothing else; add outputs with the with* methods. */
    public static ForwardRequest of(String... names) {
        return new ForwardRequest(parse(names), Set.of(), false, false, false);
    }

    public ForwardRequest withLogits() {
        return new ForwardRequest(hooks, gradientHooks, true, loss, parameterGradients);
    }

    public ForwardRequest withLoss() {
        return new ForwardRequest(hooks, gradientHooks, logits, true, parameterGradients);
    }

    /** Adds gradients of the loss with respect to the activations at these hooks. */
    public ForwardRequest withGradients(String... names) {
        Set<HookPoint> all = new TreeSet<>(gradientHooks);
        all.addAll(parse(names));
        return new ForwardRequest(hooks, all, logits, loss, parameterGradients);
    }

    public ForwardRequest withParameterGradients() {
        return new ForwardRequest(hooks, gradientHooks, logits, loss, true);
    }

    boolean needsBackward() {
        return !gradientHooks.isEmpty() || parameterGradients;
    }

    boolean needsHead() {
        return logits || loss;
    }

    /** Blocks to run when the head is not needed: up to the deepest requested hook. */
    int blocksToRun(int layers) {
        if (needsHead()) {
            return layers;
        }
        int n = 0;
        for (HookPoint h : hooks) {
            n = Math.max(n, h.blocksNeeded(layers));
        }
        return n;
    }

    private static Set<HookPoint> parse(String... names) {
        Set<HookPoint> out = new TreeSet<>();
        Arrays.stream(names).map(HookPoint::parse).forEach(out::add);
        return out;
    }
}
