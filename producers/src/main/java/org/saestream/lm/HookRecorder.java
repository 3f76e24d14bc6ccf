package org.saestream.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Collects the activations at requested hook points during one forward. For a point whose gradient is
 * wanted, the activation h continues as h + p with p a zero leaf that requires a gradient: dL/dp = dL/dh,
 * and the graph to earlier parameters stays intact (a detached h would cut it).
 */
final class HookRecorder {
    private final Set<HookPoint> recorded;
    private final Set<HookPoint> withGradient;
    private final NDManager manager;
    private final Map<HookPoint, NDArray> activations = new LinkedHashMap<>();
    private final Map<HookPoint, NDArray> probes = new LinkedHashMap<>();
    private final Map<HookPoint, UnaryOperator<NDArray>> replacements;

    HookRecorder(Set<HookPoint> recorded, Set<HookPoint> withGradient, NDManager manager) {
        this(recorded, withGradient, manager, Map.of());
    }

    /** @param replacements per hook point, what the activation is replaced by (a splice): recorded is the original */
    HookRecorder(Set<HookPoint> recorded, Set<HookPoint> withGradient, NDManager manager,
                 Map<HookPoint, UnaryOperator<NDArray>> replacements) {
        this.recorded = recorded;
        this.withGradient = withGradient;
        this.manager = manager;
        this.replacements = replacements;
    }

    NDArray at(HookPoint point, NDArray x) {
        UnaryOperator<NDArray> replacement = replacements.get(point);
        if (replacement != null) {
            if (recorded.contains(point)) {
                activations.put(point, x);
            }
            return replacement.apply(x);
        }
        if (withGradient.contains(point)) {
            NDArray probe = manager.zeros(x.getShape(), x.getDataType(), x.getDevice()); // the compute dtype
            probe.setRequiresGradient(true);
            probes.put(point, probe);
            x = x.add(probe);
        }
        if (recorded.contains(point)) {
            activations.put(point, x);
        }
        return x;
    }

    Map<HookPoint, NDArray> activations() {
        return activations;
    }

    /** Zero leaves whose gradients, after backward, are the gradients at their hook points. */
    Map<HookPoint, NDArray> probes() {
        return probes;
    }
}
