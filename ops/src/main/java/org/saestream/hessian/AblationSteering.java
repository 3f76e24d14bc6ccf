package org.saestream.hessian;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.LossCurvature;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Steering by ablation along the Hessian (Vaintrob and Panickssery, "Decomposing independent generalizations in neural
 * networks via Hessian analysis", 2023): the top eigenvector of the loss Hessian on text A, with the top-K eigenspace of
 * text B's Hessian projected out, is a direction in weight space that should raise A's loss and leave B's alone. The
 * weights are moved to θ + α v in place and put back exactly (from a copy) after each α.
 *
 * @param overlap     the share of A's top eigenvector that lay in B's top-K eigenspace (what the projection removed)
 * @param direction   v, unit norm, in the curvature's vector order
 * @param points      per α, the held-out losses of A and B
 */
public record AblationSteering(double overlap, double[] direction, List<Point> points) {
    /** The held-out losses at θ + α v. */
    public record Point(double alpha, double lossA, double lossB) {
    }

    /** v from the two spectra (both over the same parameters); its losses at every α on the held-out sets. */
    public static AblationSteering run(LanguageModel model, HessianSpectrum ablate, HessianSpectrum keep,
                                       LossCurvature heldOutA, LossCurvature heldOutB, List<Double> alphas) {
        if (!ablate.names().equals(keep.names())) {
            throw new IllegalArgumentException("the two spectra are over different parameters");
        }
        double[] v = ablate.lanczos().pairs().get(0).vector().clone();
        double removed = 0;
        for (Lanczos.Pair b : keep.lanczos().pairs()) {
            double c = Lanczos.dot(b.vector(), v);
            removed += c * c;
            for (int i = 0; i < v.length; i++) {
                v[i] -= c * b.vector()[i];
            }
        }
        double norm = Lanczos.norm(v);
        if (norm < 1e-6) {
            throw new IllegalStateException("A's top eigenvector lies inside B's top eigenspace: nothing is left to "
                    + "steer along");
        }
        for (int i = 0; i < v.length; i++) {
            v[i] /= norm;
        }
        List<Point> points = new ArrayList<>();
        for (double alpha : alphas) {
            try (Moved moved = Moved.by(model, ablate.names(), ablate.shapes(), v, alpha)) {
                points.add(new Point(alpha, heldOutA.loss(), heldOutB.loss()));
            }
        }
        return new AblationSteering(removed, v, List.copyOf(points));
    }

    /** The model's chosen parameters moved by α v while open, put back exactly when closed. */
    public static final class Moved implements AutoCloseable {
        private final Map<NDArray, NDArray> originals;

        private Moved(Map<NDArray, NDArray> originals) {
            this.originals = originals;
        }

        public static Moved by(LanguageModel model, List<String> names, Map<String, Shape> shapes, double[] v,
                               double alpha) {
            Map<NDArray, NDArray> originals = new LinkedHashMap<>();
            int at = 0;
            for (String name : names) {
                NDArray p = model.parameters().get(name);
                int size = Math.toIntExact(shapes.get(name).size());
                originals.put(p, p.duplicate());
                try (NDArray delta = step(p, v, at, alpha)) {
                    p.addi(delta.getDataType() == p.getDataType() ? delta : delta.toType(p.getDataType(), false));
                }
                at += size;
            }
            return new Moved(originals);
        }

        /** α v's part for {@code p}, in float64 for a float64 model, else float32. */
        private static NDArray step(NDArray p, double[] v, int at, double alpha) {
            int size = Math.toIntExact(p.getShape().size());
            if (p.getDataType() == DataType.FLOAT64) {
                double[] step = new double[size];
                for (int i = 0; i < size; i++) {
                    step[i] = alpha * v[at + i];
                }
                return p.getManager().create(step, p.getShape());
            }
            float[] step = new float[size];
            for (int i = 0; i < size; i++) {
                step[i] = (float) (alpha * v[at + i]);
            }
            return p.getManager().create(step, p.getShape());
        }

        @Override
        public void close() {
            originals.forEach((p, original) -> {
                p.muli(0).addi(original);
                original.close();
            });
        }
    }
}
