package org.saestream.hessian;

import org.saestream.lm.LanguageModel;
import org.saestream.lm.LossCurvature;
import org.saestream.lm.ParameterShift;

import java.util.ArrayList;
import java.util.List;

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
            try (ParameterShift shift = ParameterShift.by(model, ablate.names(), v, alpha)) {
                points.add(new Point(alpha, heldOutA.loss(), heldOutB.loss()));
            }
        }
        return new AblationSteering(removed, v, List.copyOf(points));
    }
}
