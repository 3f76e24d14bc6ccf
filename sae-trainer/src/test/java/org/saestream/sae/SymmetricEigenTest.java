package org.saestream.sae;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Both paths (Jacobi up to the limit, EJML beyond it) give A = V diag(values) V^T with V orthogonal, values descending. */
class SymmetricEigenTest {
    @Test
    void bothPathsDecomposeExactlyToRounding() {
        for (int n : new int[] {SymmetricEigen.JACOBI_LIMIT, SymmetricEigen.JACOBI_LIMIT + 108}) {
            Random random = new Random(n);
            double[] a = new double[n * n];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j <= i; j++) {
                    double v = random.nextGaussian();
                    a[i * n + j] = v;
                    a[j * n + i] = v;
                }
            }
            SymmetricEigen eig = SymmetricEigen.of(a, n);
            double[] values = eig.values();
            double[] v = eig.vectors();
            double scale = Math.max(Math.abs(values[0]), Math.abs(values[n - 1]));
            for (int c = 1; c < n; c++) {
                assertTrue(values[c] <= values[c - 1], "descending at " + c);
            }
            double worst = 0;
            double worstOrthogonality = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    double rebuilt = 0;
                    double gram = 0;
                    for (int c = 0; c < n; c++) {
                        rebuilt += v[i * n + c] * values[c] * v[j * n + c];
                        gram += v[c * n + i] * v[c * n + j];
                    }
                    worst = Math.max(worst, Math.abs(rebuilt - a[i * n + j]));
                    worstOrthogonality = Math.max(worstOrthogonality, Math.abs(gram - (i == j ? 1 : 0)));
                }
            }
            System.out.printf("n=%d: max |V L V^T - A| = %.2e (|lambda|max %.1f), max |V^T V - I| = %.2e%n", n, worst,
                    scale, worstOrthogonality);
            assertTrue(worst < 1e-12 * n * scale, "n = " + n + ": rebuilt to " + worst);
            assertTrue(worstOrthogonality < 1e-12 * n, "n = " + n + ": orthogonal to " + worstOrthogonality);
            SymmetricEigen valuesOnly = SymmetricEigen.valuesOf(a, n);
            assertEquals(0, valuesOnly.vectors().length);
            assertArrayEquals(values, valuesOnly.values(), 1e-12 * n * scale, "the values alone are the same values");
        }
    }
}
