package org.saestream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import org.saestream.lm.Parameters;
import org.saestream.tensor.Tensor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * AdamW over a model's parameter NDArrays, updated in place, with its own moment state (DJL's built-in
 * optimizers keep state that an NDScope frees: STACK.md). The update is torch.optim.AdamW's:
 * <pre>
 *   g  = clipScale * grad
 *   m  = beta1 m + (1 - beta1) g                  v = beta2 v + (1 - beta2) g^2
 *   p *= 1 - lr * weightDecay                     (matrices only: not biases, norms or embeddings)
 *   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 * float32 throughout, deterministic. The moments live in this optimizer's NDManager until {@link #close()}.
 */
public final class AdamW implements AutoCloseable {
    /** Token and position tables: no weight decay, as in nanoGPT / HF's usual grouping. */
    private static final Pattern EMBEDDING = Pattern.compile(".*(^|\\.)(wte|wpe|embed_in|embed_tokens)\\.weight");

    private final TrainConfig.OptimizerConfig config;
    private final NDManager manager;
    private final Map<String, NDArray> firstMoments = new LinkedHashMap<>();
    private final Map<String, NDArray> secondMoments = new LinkedHashMap<>();
    private final Set<String> decayed = new LinkedHashSet<>();
    private long step;

    public AdamW(Parameters parameters, TrainConfig.OptimizerConfig config) {
        this.config = config;
        NDArray any = parameters.asMap().values().iterator().next();
        this.manager = NDManager.newBaseManager(any.getDevice());
        parameters.asMap().forEach((name, p) -> {
            firstMoments.put(name, manager.zeros(p.getShape()));
            secondMoments.put(name, manager.zeros(p.getShape()));
            if (decays(name, p.getShape())) {
                decayed.add(name);
            }
        });
    }

    /** Weight decay applies to matrices that are not embedding tables (biases and norm weights are vectors). */
    public static boolean decays(String name, Shape shape) {
        return shape.dimension() >= 2 && !EMBEDDING.matcher(name).matches();
    }

    /** Names of the parameters that decay. */
    public Set<String> decayed() {
        return Collections.unmodifiableSet(decayed);
    }

    /** Steps taken so far (t of the bias corrections). */
    public long steps() {
        return step;
    }

    /**
     * One update of every parameter in place.
     *
     * @param parameters the model's parameters (updated)
     * @param gradients  d loss / d parameter, same names and shapes, float32
     * @param lr         this step's learning rate
     * @param clipScale  factor applied to every gradient first (global-norm clipping; 1 for none)
     */
    public void step(Parameters parameters, Map<String, NDArray> gradients, double lr, double clipScale) {
        step++;
        double beta1 = config.beta1();
        double beta2 = config.beta2();
        double correction1 = 1 - Math.pow(beta1, step);
        double correction2 = 1 - Math.pow(beta2, step);
        float decay = (float) (1 - lr * config.weightDecay());
        float stepSize = (float) (lr / correction1);
        float rootCorrection2 = (float) Math.sqrt(correction2);
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            for (Map.Entry<String, NDArray> e : firstMoments.entrySet()) {
                String name = e.getKey();
                NDArray grad = gradients.get(name);
                if (grad == null) {
                    throw new IllegalArgumentException("no gradient for parameter '" + name + "'");
                }
                NDArray p = parameters.get(name);
                NDArray m = e.getValue();
                NDArray v = secondMoments.get(name);
                m.muli((float) beta1).addi(grad.mul((float) ((1 - beta1) * clipScale)));
                v.muli((float) beta2).addi(grad.square().muli((float) ((1 - beta2) * clipScale * clipScale)));
                if (decayed.contains(name) && config.weightDecay() != 0) {
                    p.muli(decay);
                }
                NDArray denominator = v.sqrt().divi(rootCorrection2).addi((float) config.eps());
                p.subi(m.div(denominator).muli(stepSize));
            }
        }
    }

    /** The moments as float32 tensors under "exp_avg.NAME" and "exp_avg_sq.NAME" (torch's state names). */
    public Map<String, Tensor> state() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        firstMoments.forEach((name, m) -> out.put("exp_avg." + name, tensor(m)));
        secondMoments.forEach((name, v) -> out.put("exp_avg_sq." + name, tensor(v)));
        return out;
    }

    private static Tensor tensor(NDArray a) {
        return Tensor.ofFloats(a.toFloatArray(), a.getShape().getShape());
    }

    /** Restores moments written by {@link #state()} and the step count they belong to. */
    public void load(Map<String, Tensor> state, long steps, String source) {
        restore(firstMoments, "exp_avg.", state, source);
        restore(secondMoments, "exp_avg_sq.", state, source);
        this.step = steps;
    }

    private void restore(Map<String, NDArray> moments, String prefix, Map<String, Tensor> state, String source) {
        moments.forEach((name, array) -> {
            Tensor t = state.get(prefix + name);
            if (t == null || !java.util.Arrays.equals(t.shape(), array.getShape().getShape())) {
                throw new IllegalArgumentException(source + ": optimizer state '" + prefix + name + "' is "
                        + (t == null ? "missing" : "of shape " + java.util.Arrays.toString(t.shape()) + ", the parameter's is "
                        + array.getShape()));
            }
            array.set(t.toFloats());
        });
    }

    @Override
    public void close() {
        manager.close();
    }
}
