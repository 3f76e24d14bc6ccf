package org.saestream.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The mean next-token loss over a fixed set of token batches as a function of some of a model's parameters (the rest
 * held where they are): its value, its gradient and Hessian-vector products, for second-order analysis (Lanczos for
 * the top eigenpairs). Vectors are the chosen parameters flattened and concatenated in {@link #parameterNames()} order,
 * as doubles.
 *
 * <p>Products by central differences of gradients ({@link #hessianVectorProduct}), or exactly by double backward
 * ({@link #hessianVectorProductByDoubleBackward}: the gradient g with its graph, then the gradient of g · v; DJL's
 * GradientCollector cannot keep the graph of a backward, so the PyTorch engine's
 * {@code JniUtils.backward(loss, 1, keepGraph, createGraph)} is called directly, and the leaves' gradients are zeroed
 * between the two passes, so the second yields Hv alone), which leaks. Each batch's share is weighted by its
 * predictions, so the whole is the product of the mean over every prediction.
 */
public final class LossCurvature {
    private final LanguageModel model;
    private final List<TokenBatch> batches;
    private final Predicate<String> chosen;
    private final List<String> names;
    private final Map<String, Shape> shapes;
    private final long dimension;
    private final long predictions;

    private LossCurvature(LanguageModel model, List<TokenBatch> batches, List<String> names) {
        this.model = model;
        this.batches = List.copyOf(batches);
        this.names = List.copyOf(names);
        this.chosen = this.names::contains;
        Map<String, Shape> s = new LinkedHashMap<>();
        long n = 0;
        for (String name : names) {
            Shape shape = model.parameters().get(name).getShape();
            s.put(name, shape);
            n += shape.size();
        }
        this.shapes = Collections.unmodifiableMap(s);
        this.dimension = n;
        this.predictions = batches.stream().mapToLong(TokenBatch::predictionCount).sum();
    }

    /**
     * The loss over {@code batches} (every prediction weighing the same) as a function of the parameters
     * {@code which} accepts; fails naming the model's parameters when it accepts none.
     */
    public static LossCurvature of(LanguageModel model, List<TokenBatch> batches, Predicate<String> which) {
        if (batches.isEmpty() || batches.stream().allMatch(b -> b.predictionCount() == 0)) {
            throw new IllegalArgumentException("no token to predict: the loss needs at least one row of two tokens");
        }
        List<String> names = new ArrayList<>();
        for (String name : model.parameters().names()) {
            if (which.test(name)) {
                names.add(name);
            }
        }
        if (names.isEmpty()) {
            throw new IllegalArgumentException("no parameter of the model is chosen; it has " + model.parameters().names());
        }
        return new LossCurvature(model, batches, names);
    }

    /** The chosen parameters, in the order vectors concatenate them. */
    public List<String> parameterNames() {
        return names;
    }

    /** Each chosen parameter's shape. */
    public Map<String, Shape> shapes() {
        return shapes;
    }

    /** Length of a vector: the chosen parameters' element count. */
    public long dimension() {
        return dimension;
    }

    /** Predictions the loss averages over. */
    public long predictions() {
        return predictions;
    }

    /** The mean loss. */
    public double loss() {
        double total = 0;
        for (TokenBatch batch : batches) {
            try (NDManager work = model.parameters().get(names.get(0)).getManager().newSubManager();
                 NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                total += model.meanLoss(work, model.parameters(), batch).toType(DataType.FLOAT64, false).getDouble()
                        * weight(batch);
            }
        }
        return total;
    }

    /** The gradient of the mean loss. */
    public double[] gradient() {
        return overBatches((work, leaves, batch, collector) -> collector.backward(model.meanLoss(work, leaves, batch)));
    }

    /** One batch's backward: leaves' gradients hold the batch's share when it returns. */
    private interface Backward {
        void run(NDManager work, Parameters leaves, TokenBatch batch, GradientCollector collector);
    }

    /**
     * Σ over batches of their weight times the leaves' gradients after {@code backward}, each batch in its own manager,
     * scope and collector (fresh leaves, so nothing accumulates from one batch to the next).
     */
    private double[] overBatches(Backward backward) {
        double[] out = new double[Math.toIntExact(dimension)];
        for (TokenBatch batch : batches) {
            try (NDManager work = model.parameters().get(names.get(0)).getManager().newSubManager();
                 NDScope scope = new NDScope();
                 GradientCollector collector = work.getEngine().newGradientCollector()) {
                scope.suppressNotUsedWarning();
                Parameters leaves = model.parameters().leaves(chosen);
                backward.run(work, leaves, batch, collector);
                accumulate(out, leaves, weight(batch));
            }
        }
        return out;
    }

    /**
     * H v by central differences of gradients, (g(θ + εv) − g(θ − εv)) / 2ε with ε = {@link #step()} ‖v‖ (the
     * weights are moved in place and put back exactly): truncation error O(ε²), rounding about the dtype's precision
     * times ‖g‖ / ε; in float64 with ε = 1e-4 about 1e-8 of ‖Hv‖ on the tiny models, in float32 with ε = 1e-2 about
     * 1e-4 (LossCurvatureTest). The exact {@link #hessianVectorProductByDoubleBackward} leaks its graph on every call,
     * so this is the one for Lanczos's many products.
     */
    public double[] hessianVectorProduct(double[] v) {
        if (v.length != dimension) {
            throw new IllegalArgumentException("a vector of " + v.length + " values for " + dimension + " parameters");
        }
        double norm = 0;
        for (double x : v) {
            norm += x * x;
        }
        norm = Math.sqrt(norm);
        if (norm == 0) {
            return new double[v.length];
        }
        double epsilon = step() / norm;
        double[] plus;
        double[] minus;
        try (ParameterShift shift = ParameterShift.by(model, names, v, epsilon)) {
            plus = gradient();
        }
        try (ParameterShift shift = ParameterShift.by(model, names, v, -epsilon)) {
            minus = gradient();
        }
        double[] out = new double[v.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (plus[i] - minus[i]) / (2 * epsilon);
        }
        return out;
    }

    /**
     * The length of the finite-difference step along a unit vector: 1e-4 in float64, 1e-2 in float32 (where rounding of
     * the gradients, about 1e-7 of ‖g‖, must stay small against ε ‖Hv‖), 1e-1 in float16.
     */
    public double step() {
        return switch (model.computeDtype()) {
            case FLOAT64 -> 1e-4;
            case FLOAT32 -> 1e-2;
            default -> 1e-1;
        };
    }

    /**
     * H v exactly, by double backward. PyTorch's backward with create_graph leaves each parameter's .grad holding a
     * graph that refers back to the parameter, a reference cycle PyTorch asks callers to break by resetting .grad to
     * None; DJL 0.35 offers no way to, so every call leaks that graph (about 200 MB a call for the default model over
     * 2,048 tokens). For checks on small models; {@link #hessianVectorProduct} for anything longer.
     */
    public double[] hessianVectorProductByDoubleBackward(double[] v) {
        if (v.length != dimension) {
            throw new IllegalArgumentException("a vector of " + v.length + " values for " + dimension + " parameters");
        }
        return overBatches((work, leaves, batch, collector) -> {
            NDArray loss = model.meanLoss(work, leaves, batch);
            JniUtils.backward((PtNDArray) loss, (PtNDArray) loss.onesLike(), true, true);
            NDArray gv = null;
            long at = 0;
            for (String name : names) {
                NDArray leaf = leaves.get(name);
                Shape shape = shapes.get(name);
                NDArray term = leaf.getGradient().mul(slice(work, v, at, shape, leaf.getDataType())).sum();
                gv = gv == null ? term : gv.add(term);
                at += shape.size();
            }
            for (String name : names) {
                JniUtils.zeroGrad((PtNDArray) leaves.get(name));
            }
            JniUtils.backward((PtNDArray) gv, (PtNDArray) gv.onesLike(), false, false);
        });
    }

    private double weight(TokenBatch batch) {
        return batch.predictionCount() / (double) predictions;
    }

    /** out += w * each chosen leaf's gradient, in order. */
    private void accumulate(double[] out, Parameters leaves, double w) {
        int at = 0;
        for (String name : names) {
            double[] g = leaves.get(name).getGradient().toType(DataType.FLOAT64, false).toDoubleArray();
            for (int i = 0; i < g.length; i++) {
                out[at + i] += w * g[i];
            }
            at += g.length;
        }
    }

    /** v's part for one parameter, registered with {@code m} (it must outlive the second backward, which reads it). */
    private static NDArray slice(NDManager m, double[] v, long from, Shape shape, DataType type) {
        double[] part = new double[Math.toIntExact(shape.size())];
        System.arraycopy(v, Math.toIntExact(from), part, 0, part.length);
        return m.create(part, shape).toType(type, false);
    }
}
