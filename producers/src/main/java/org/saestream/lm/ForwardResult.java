package org.saestream.lm;

import ai.djl.ndarray.NDArray;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * The named outputs of one forward, all float32 NDArrays owned by the manager passed to
 * {@link LanguageModel#forward}; {@link #close()} frees them early.
 *
 * @param activations         hook name -> [B, T, width]
 * @param gradients           hook name -> d(loss)/d(activation), [B, T, width]
 * @param parameterGradients  canonical parameter name -> d(loss)/d(parameter), parameter shape
 * @param logits              [B, T, vocab] when requested
 * @param nextTokenLogProbs   [B, T-1]: log p(token t+1), 0 where t+1 is padding; with the loss
 * @param loss                mean next-token cross-entropy over the batch's real predictions
 */
public record ForwardResult(Map<String, NDArray> activations, Map<String, NDArray> gradients,
                            Map<String, NDArray> parameterGradients, Optional<NDArray> logits,
                            Optional<NDArray> nextTokenLogProbs, OptionalDouble loss) implements AutoCloseable {
    public ForwardResult {
        activations = Collections.unmodifiableMap(new LinkedHashMap<>(activations));
        gradients = Collections.unmodifiableMap(new LinkedHashMap<>(gradients));
        parameterGradients = Collections.unmodifiableMap(new LinkedHashMap<>(parameterGradients));
    }

    public NDArray activation(String hook) {
        return require(activations, hook, "activation");
    }

    public NDArray gradient(String hook) {
        return require(gradients, hook, "gradient");
    }

    public NDArray parameterGradient(String name) {
        return require(parameterGradients, name, "parameter gradient");
    }

    private static NDArray require(Map<String, NDArray> map, String name, String what) {
        NDArray a = map.get(name);
        if (a == null) {
            throw new IllegalArgumentException("no " + what + " '" + name + "' in this result (have " + map.keySet() + ")");
        }
        return a;
    }

    @Override
    public void close() {
        activations.values().forEach(NDArray::close);
        gradients.values().forEach(NDArray::close);
        parameterGradients.values().forEach(NDArray::close);
        logits.ifPresent(NDArray::close);
        nextTokenLogProbs.ifPresent(NDArray::close);
    }
}
