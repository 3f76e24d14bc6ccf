package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** The sparse products against the same products of the dense matrix the pairs make. */
class SparsePairsTest {

    @Test
    void productsEqualThoseOfTheDenseMatrixDuplicatesSummed() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Random random = new Random(3);
            int rows = 9;
            int columns = 13;
            int m = 5;
            int entries = 40;                                                 // some (row, column) twice
            long[] r = new long[entries];
            long[] c = new long[entries];
            double[] v = new double[entries];
            double[] dense = new double[rows * columns];
            for (int i = 0; i < entries; i++) {
                r[i] = random.nextInt(rows);
                c[i] = random.nextInt(columns);
                v[i] = random.nextGaussian();
                dense[(int) (r[i] * columns + c[i])] += v[i];
            }
            SparsePairs pairs = new SparsePairs(manager.create(r), manager.create(c), manager.create(v),
                    new Shape(rows, columns));
            NDArray matrix = manager.create(dense, new Shape(rows, columns));
            NDArray right = AutogradCheck.randomArray(manager, random, new Shape(columns, m), DataType.FLOAT64, 1);
            NDArray left = AutogradCheck.randomArray(manager, random, new Shape(rows, m), DataType.FLOAT64, 1);

            assertClose(matrix.matMul(right), pairs.times(right));
            assertClose(matrix.transpose().matMul(left), pairs.transposeTimes(left));
            assertClose(matrix.sum(new int[]{0}), pairs.columnSums());
            assertClose(matrix, pairs.coo().toDense());

            // (left right^T) at each entry, in entry order, gathered whole and 7 entries at a time
            double[] all = left.matMul(right.transpose()).toDoubleArray();
            double[] expected = new double[entries];
            for (int i = 0; i < entries; i++) {
                expected[i] = all[(int) (r[i] * columns + c[i])];
            }
            assertArrayEquals(expected, pairs.sampledProduct(left, right).toDoubleArray(), 1e-12);
            assertArrayEquals(expected, pairs.sampledProduct(left, right, 7).toDoubleArray(), 1e-12);
        }
    }

    @Test
    void perRowPairsAreEachRowsColumns() {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray columns = manager.create(new long[]{4, 1, 0, 4}, new Shape(2, 2));
            NDArray values = manager.create(new double[]{1, 2, 3, 4}, new Shape(2, 2));
            NDArray dense = SparsePairs.perRow(columns, values, 5).coo().toDense();
            assertArrayEquals(new double[]{0, 2, 0, 0, 1, 3, 0, 0, 0, 4}, dense.toDoubleArray());
        }
    }

    @Test
    void perRowSampledProductEqualsTheGeneralOne() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Random random = new Random(5);
            int rows = 7;
            int k = 3;
            long[] c = new long[rows * k];
            for (int i = 0; i < c.length; i++) {
                c[i] = random.nextInt(11);
            }
            NDArray columns = manager.create(c, new Shape(rows, k));
            SparsePairs perRow = SparsePairs.perRow(columns, columns.toType(DataType.FLOAT64, false), 11);
            SparsePairs general = new SparsePairs(perRow.rows(), perRow.columns(), perRow.values(), perRow.shape());
            NDArray left = AutogradCheck.randomArray(manager, random, new Shape(rows, 4), DataType.FLOAT64, 1);
            NDArray right = AutogradCheck.randomArray(manager, random, new Shape(11, 4), DataType.FLOAT64, 1);
            double[] expected = general.sampledProduct(left, right).toDoubleArray();
            assertArrayEquals(expected, perRow.sampledProduct(left, right).toDoubleArray(), 1e-12);
            assertArrayEquals(expected, perRow.sampledProduct(left, right, 7).toDoubleArray(), 1e-12);   // 2 rows a time
        }
    }

    private static void assertClose(NDArray expected, NDArray actual) {
        assertArrayEquals(expected.getShape().getShape(), actual.getShape().getShape());
        assertArrayEquals(expected.toDoubleArray(), actual.toDoubleArray(), 1e-12);
    }
}
