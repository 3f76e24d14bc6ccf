package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Adam (Kingma and Ba), bias-corrected, with its state held here explicitly: a first moment m and a
 * second moment v per parameter (float32, allocated once in the owner's manager and updated in place)
 * and the step count. Same update as torch.optim.Adam without weight decay or amsgrad:
 *
 * <pre>
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * </pre>
 *
 * DJL's own Adam creates its state lazily inside whatever scope is open, which an NDScope then frees
 * (STACK.md); this one never allocates state after construction.
 */
final class AdamOptimizer implements AutoCloseable {
    private final double learningRate;
    private final double beta1;
    private final double beta2;
    private final double epsilon;
    private final List<String> names;
    private final int dSae;
    private final Map<String, NDArray> firstMoments;
    private final Map<String, NDArray> secondMoments;
    private long step;

    private AdamOptimizer(SaeConfig config, Map<String, NDArray> m, Map<String, NDArray> v, long step) {
        this.learningRate = config.learningRate();
        this.beta1 = config.beta1();
        this.beta2 = config.beta2();
        this.epsilon = config.epsilon();
        this.names = config.shape().trainableNames(config.architecture());
        this.dSae = config.dSae();
        this.firstMoments = Collections.unmodifiableMap(m);
        this.secondMoments = Collections.unmodifiableMap(v);
        this.step = step;
    }

    /** Fresh state: zero moments shaped like each trainable parameter of the config's architecture, step 0. */
    static AdamOptimizer create(NDManager manager, SaeConfig config) {
        Map<String, float[]> zerosM = new LinkedHashMap<>();
        Map<String, float[]> zerosV = new LinkedHashMap<>();
        for (String name : config.shape().trainableNames(config.architecture())) {
            int size = (int) config.shape().shapeOf(name).size();
            zerosM.put(name, new float[size]);
            zerosV.put(name, new float[size]);
        }
        return restore(manager, config, zerosM, zerosV, 0);
    }

    /** State from row-major float32 moments by parameter name and a step count. */
    static AdamOptimizer restore(NDManager manager, SaeConfig config, Map<String, float[]> m, Map<String, float[]> v,
                                 long step) {
        if (step < 0) {
            throw new IllegalArgumentException("Adam step count must be >= 0, got " + step);
        }
        Map<String, NDArray> mArrays = new LinkedHashMap<>();
        Map<String, NDArray> vArrays = new LinkedHashMap<>();
        try {
            for (String name : config.shape().trainableNames(config.architecture())) {
                var shape = config.shape().shapeOf(name);
                mArrays.put(name, SaeParameters.persistent(manager, require(m, name, "m"), shape, "adam.m." + name));
                vArrays.put(name, SaeParameters.persistent(manager, require(v, name, "v"), shape, "adam.v." + name));
            }
        } catch (RuntimeException e) {
            mArrays.values().forEach(NDArray::close);
            vArrays.values().forEach(NDArray::close);
            throw e;
        }
        return new AdamOptimizer(config, mArrays, vArrays, step);
    }

    private static float[] require(Map<String, float[]> moments, String name, String which) {
        float[] values = moments.get(name);
        if (values == null) {
            throw new IllegalArgumentException("missing Adam " + which + " for parameter '" + name + "'");
        }
        return values;
    }

    /** One Adam step on every trainable parameter, in place. Temporaries belong to the caller's NDScope. */
    void update(SaeParameters params, Map<String, NDArray> gradients) {
        step++;
        double biasCorrection1 = 1 - Math.pow(beta1, step);
        double biasCorrection2 = 1 - Math.pow(beta2, step);
        double stepSize = learningRate / biasCorrection1;
        double bias2Sqrt = Math.sqrt(biasCorrection2);
        for (String name : names) {
            NDArray g = gradients.get(name);
            if (g == null) {
                throw new IllegalArgumentException("no gradient for parameter '" + name + "'");
            }
            NDArray p = params.get(name);
            NDArray m = firstMoments.get(name);
            NDArray v = secondMoments.get(name);
            if (CpuKernels.applies(p, g)) {
                CpuKernels.adam(p, m, v, g, beta1, beta2, stepSize, bias2Sqrt, epsilon);   // one pass, no temporaries
                continue;
            }
            m.muli(beta1).addi(g.mul(1 - beta1));
            v.muli(beta2).addi(g.square().muli(1 - beta2));
            NDArray denom = v.sqrt().divi(bias2Sqrt).addi(epsilon);
            p.subi(m.div(denom).muli(stepSize));
        }
    }

    /**
     * Sets both moments of the selected features' slices ({@link FeatureSlices}) to zero, so that
     * momentum from before cannot move them: a frozen feature then stays bit-identical under masked
     * gradients, and a resampled one starts afresh.
     */
    void resetFeatures(boolean[] features) {
        if (features.length != dSae) {
            throw new IllegalArgumentException("expected " + dSae + " feature flags, got " + features.length);
        }
        for (String name : names) {
            if (FeatureSlices.isPerFeature(name)) {
                FeatureSlices.zero(firstMoments.get(name), name, features);
                FeatureSlices.zero(secondMoments.get(name), name, features);
            }
        }
    }

    long step() {
        return step;
    }

    /** Row-major float32 copy of one parameter's first moment. */
    float[] firstMoment(String name) {
        return firstMoments.get(name).toFloatArray();
    }

    /** Row-major float32 copy of one parameter's second moment. */
    float[] secondMoment(String name) {
        return secondMoments.get(name).toFloatArray();
    }

    @Override
    public void close() {
        firstMoments.values().forEach(NDArray::close);
        secondMoments.values().forEach(NDArray::close);
    }
}
