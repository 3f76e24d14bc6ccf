package org.saestream.hessian;

import org.saestream.sae.SymmetricEigen;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * The largest eigenpairs of a symmetric operator known only by its products (a Hessian), by Lanczos with full
 * reorthogonalisation: from a seeded random start, m products build an orthonormal Krylov basis Q and the tridiagonal
 * T = Qᵀ H Q; T's eigenpairs (θ, s) give Ritz pairs (θ, Q s). Full reorthogonalisation (twice, classical Gram-Schmidt
 * against every basis vector) keeps Q orthonormal in floating point, so no eigenvalue appears twice.
 *
 * <p>Convergence of each pair is its residual ‖H y − θ y‖, computed with one more product per pair (Lanczos's own
 * estimate β_m |s_m| falls far below what the products' rounding allows once a pair has converged), and relative to
 * |θ| as {@code relativeResidual}: |θ − λ| ≤ residual for some eigenvalue λ. The eigenvalues are the largest
 * algebraically (sharpness: the largest positive curvature); a Hessian's negative eigenvalues are not sought.
 */
public final class Lanczos {
    /** One Ritz pair: eigenvalue, unit eigenvector, residual norm. */
    public record Pair(double value, double[] vector, double residual) {
        public double relativeResidual() {
            return residual / Math.max(Math.abs(value), Double.MIN_NORMAL);
        }
    }

    /** The top pairs, largest first, and the Lanczos iterations (one product each; each pair's residual took one more). */
    public record Result(List<Pair> pairs, int iterations) {
    }

    private Lanczos() {
    }

    /**
     * The {@code k} largest eigenpairs of the n × n symmetric operator {@code h} after at most {@code m} products
     * (m ≥ k; it stops early when the Krylov space is exhausted); {@code progress} hears each iteration's number.
     */
    public static Result top(UnaryOperator<double[]> h, int n, int k, int m, long seed, Consumer<Integer> progress) {
        if (k < 1 || m < k) {
            throw new IllegalArgumentException("need 1 <= k <= iterations, got k " + k + ", iterations " + m);
        }
        int steps = Math.min(m, n);
        List<double[]> basis = new ArrayList<>();
        double[] alpha = new double[steps];
        double[] beta = new double[steps];
        double[] q = new double[n];
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            q[i] = random.nextGaussian();
        }
        scale(q, 1 / norm(q));
        int j = 0;
        while (j < steps) {
            basis.add(q);
            double[] w = h.apply(q);
            alpha[j] = dot(q, w);
            for (int pass = 0; pass < 2; pass++) {
                for (double[] b : basis) {
                    axpy(-dot(b, w), b, w);
                }
            }
            beta[j] = norm(w);
            j++;
            progress.accept(j);
            if (beta[j - 1] <= 1e-10 * Math.abs(alpha[j - 1]) || beta[j - 1] == 0) {
                break; // an invariant subspace: its eigenvalues are exact
            }
            if (j < steps) {
                scale(w, 1 / beta[j - 1]);
                q = w;
            }
        }
        int size = j;
        double[] t = new double[size * size];
        for (int i = 0; i < size; i++) {
            t[i * size + i] = alpha[i];
            if (i + 1 < size) {
                t[i * size + i + 1] = beta[i];
                t[(i + 1) * size + i] = beta[i];
            }
        }
        SymmetricEigen eig = SymmetricEigen.of(t, size);                     // values descending, vectors in columns
        List<Pair> pairs = new ArrayList<>();
        for (int c = 0; c < Math.min(k, size); c++) {
            double[] y = new double[n];
            for (int i = 0; i < size; i++) {
                axpy(eig.vectors()[i * size + c], basis.get(i), y);
            }
            scale(y, 1 / norm(y));
            double[] r = h.apply(y);
            axpy(-eig.values()[c], y, r);
            pairs.add(new Pair(eig.values()[c], y, norm(r)));
        }
        return new Result(List.copyOf(pairs), size);
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    static double norm(double[] a) {
        return Math.sqrt(dot(a, a));
    }

    private static void axpy(double a, double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) {
            y[i] += a * x[i];
        }
    }

    private static void scale(double[] x, double a) {
        for (int i = 0; i < x.length; i++) {
            x[i] *= a;
        }
    }
}
