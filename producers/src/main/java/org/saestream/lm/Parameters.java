package org.saestream.lm;

import ai.djl.ndarray.NDArray;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** A model's parameters (in its compute dtype) under their canonical Hugging Face names, in checkpoint order. */
public final class Parameters {
    private final Map<String, NDArray> arrays;

    Parameters(Map<String, NDArray> arrays) {
        this.arrays = Collections.unmodifiableMap(new LinkedHashMap<>(arrays));
    }

    public NDArray get(String name) {
        NDArray a = arrays.get(name);
        if (a == null) {
            throw new IllegalArgumentException("no parameter '" + name + "'");
        }
        return a;
    }

    /** The optional parameter (a bias some configs omit), or null. */
    NDArray getOrNull(String name) {
        return arrays.get(name);
    }

    public Set<String> names() {
        return arrays.keySet();
    }

    public Map<String, NDArray> asMap() {
        return arrays;
    }

    /**
     * Detached views of every parameter (same storage, no history) that require gradients: fresh leaves
     * whose gradients start empty, so gradients of one call never accumulate into the next.
     */
    Parameters leaves() {
        return leaves(name -> true);
    }

    /** The same, for the parameters {@code which} accepts; the rest are these parameters as they are (no gradients). */
    Parameters leaves(java.util.function.Predicate<String> which) {
        Map<String, NDArray> leaves = new LinkedHashMap<>();
        arrays.forEach((name, a) -> {
            if (!which.test(name)) {
                leaves.put(name, a);
                return;
            }
            NDArray leaf = a.stopGradient();
            leaf.setRequiresGradient(true);
            leaves.put(name, leaf);
        });
        return new Parameters(leaves);
    }
}
