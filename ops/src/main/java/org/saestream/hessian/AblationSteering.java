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
 * <p>The control: a random unit direction (seeded Gaussian), with B's top-K eigenspace projected out the same way,
 * moved along by the same α: what any step of that length does to the two texts, so that the eigenvector's effect can
 * be told from a step's.
 *
 * @param overlap     the share of A's top eigenvector that lay in B's top-K eigenspace (what the projection removed)
 * @param direction   v, unit norm, in the curvature's vector order
 * @param points      per α, the held-out losses of A and B along v and along the control direction
 */
public record AblationSteering(double overlap, double[] direction, List<Point> points) {
    /** The held-out losses at θ + α v, and at θ + α r for the random control direction r. */
    public record Point(double alpha, double lossA, double lossB, double controlLossA, double controlLossB) {
    }

    /** v from the two spectra (both over the same parameters); its losses at every α on the held-out sets. */
    public static AblationSteering run(LanguageModel model, HessianSpectrum ablate, HessianSpectrum keep,
                                       LossCurvature heldOutA, LossCurvature heldOutB, List<Double> alphas,
                                       long controlSeed) {
        if (!ablate.names().equals(keep.names())) {
            throw new IllegalArgumentException("the two spectra are over different parameters");
        }
        double[] v = ablate.lanczos().pairs().get(0).vector().clone();
        double removed = projectOut(v, keep);
        if (Lanczos.norm(v) < 1e-6) {
            throw new IllegalStateException("A's top eigenvector lies inside B's top eigenspace: nothing is left to "
                    + "steer along");
        }
        normalise(v);
        java.util.Random random = new java.util.Random(controlSeed);
        double[] r = new double[v.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = random.nextGaussian();
        }
        projectOut(r, keep);
        normalise(r);
        List<Point> points = new ArrayList<>();
        for (double alpha : alphas) {
            double lossA;
            double lossB;
            try (ParameterShift shift = ParameterShift.by(model, ablate.names(), v, alpha)) {
                lossA = heldOutA.loss();
                lossB = heldOutB.loss();
            }
            try (ParameterShift shift = ParameterShift.by(model, ablate.names(), r, alpha)) {
                points.add(new Point(alpha, lossA, lossB, heldOutA.loss(), heldOutB.loss()));
            }
        }
        return new AblationSteering(removed, v, List.copyOf(points));
    }

    /** Removes from x its components in B's top eigenvectors (unit x: the share removed). */
    private static double projectOut(double[] x, HessianSpectrum keep) {
        double removed = 0;
        for (Lanczos.Pair b : keep.lanczos().pairs()) {
            double c = Lanczos.dot(b.vector(), x);
            removed += c * c;
            for (int i = 0; i < x.length; i++) {
                x[i] -= c * b.vector()[i];
            }
        }
        return removed;
    }

    private static void normalise(double[] x) {
        double norm = Lanczos.norm(x);
        for (int i = 0; i < x.length; i++) {
            x[i] /= norm;
        }
    }
}
