package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * A set of (row, column, value) entries of a [rows, columns] matrix, and the products a k-sparse SAE
 * needs from it without ever forming the dense matrix: sparse × dense (libtorch's COO product, which
 * DJL's API reaches only through its PyTorch engine) and sampled dense · dense (row gathers). The
 * same (row, column) may appear twice; products sum the duplicates.
 *
 * @param rows    [N] int64
 * @param columns [N] int64
 * @param values  [N] in the dtype of the dense operands
 * @param shape   the [rows, columns] shape the entries live in
 * @param perRow  where the entries are each row's {@code perRow} columns, row after row, that number
 *                (products then gather only one side); 0 for entries in any order
 */
record SparsePairs(NDArray rows, NDArray columns, NDArray values, Shape shape, int perRow) {

    /** Entries in any order. */
    SparsePairs(NDArray rows, NDArray columns, NDArray values, Shape shape) {
        this(rows, columns, values, shape, 0);
    }

    /** Gathered rows per chunk of a sampled product, so that its temporaries stay near 64 MB of float32. */
    private static final long GATHER_FLOATS = 1L << 24;

    /** The entries of each row's {@code columns} [R, k] (int64), with their values [R, k]. */
    static SparsePairs perRow(NDArray columns, NDArray values, long width) {
        Shape shape = columns.getShape();
        long rowCount = shape.get(0);
        long n = shape.size();
        NDArray rows = columns.getManager().arange(0, Math.toIntExact(rowCount), 1, DataType.INT64)
                .expandDims(1).broadcast(shape).reshape(n);                   // [R * k]
        return new SparsePairs(rows, columns.reshape(n), values.reshape(n), new Shape(rowCount, width),
                Math.toIntExact(shape.get(1)));
    }

    /** The same pairs with other values [N]. */
    SparsePairs withValues(NDArray newValues) {
        return new SparsePairs(rows, columns, newValues, shape, perRow);
    }

    /** These entries followed by {@code other}'s, in the same matrix. */
    SparsePairs concat(SparsePairs other) {
        return new SparsePairs(rows.concat(other.rows), columns.concat(other.columns), values.concat(other.values),
                shape);
    }

    /** this × dense: [rows, columns] x [columns, m] = [rows, m]. */
    NDArray times(NDArray dense) {
        return coo(rows, columns, shape).matMul(dense);
    }

    /** this^T × dense: [columns, rows] x [rows, m] = [columns, m]. */
    NDArray transposeTimes(NDArray dense) {
        return coo(columns, rows, new Shape(shape.get(1), shape.get(0))).matMul(dense);
    }

    /** Per column, the sum of its values: [columns]. */
    NDArray columnSums() {
        NDArray ones = values.getManager().ones(new Shape(shape.get(0), 1), values.getDataType());
        return transposeTimes(ones).reshape(shape.get(1));
    }

    /**
     * (left · right^T) at the entries only: value i is the dot product of left's row rows[i] and right's
     * row columns[i], for left [rows, m] and right [columns, m]. Costs N·m, not rows·columns·m.
     */
    NDArray sampledProduct(NDArray left, NDArray right) {
        if (CpuKernels.applies(left, right)) {                             // in place, no gathered temporaries
            return left.getManager().create(CpuKernels.sampledProduct(left, right, rows, columns));
        }
        return sampledProduct(left, right, Math.max(1, GATHER_FLOATS / left.getShape().get(1)));
    }

    /** {@link #sampledProduct(NDArray, NDArray)} gathering {@code chunk} entries at a time. */
    NDArray sampledProduct(NDArray left, NDArray right, long chunk) {
        long n = rows.size();
        NDList parts = new NDList();
        if (perRow > 0) {                                                   // left's rows in place: no gather
            long rowCount = shape.get(0);
            long rowsPerChunk = Math.max(1, chunk / perRow);
            for (long start = 0; start < rowCount; start += rowsPerChunk) {
                long end = Math.min(rowCount, start + rowsPerChunk);
                NDArray a = gatherRows(right, columns.get(start * perRow + ":" + end * perRow))
                        .reshape(end - start, perRow, right.getShape().get(1));   // [r, k, m]
                NDArray b = left.get(start + ":" + end).expandDims(1);            // [r, 1, m]
                parts.add(a.muli(b).sum(new int[]{2}).reshape((end - start) * perRow));
            }
            return parts.size() == 1 ? parts.singletonOrThrow() : NDArrays.concat(parts);
        }
        for (long start = 0; start < n; start += chunk) {
            String range = start + ":" + Math.min(n, start + chunk);
            NDArray a = gatherRows(right, columns.get(range));              // [c, m]
            NDArray b = gatherRows(left, rows.get(range));                  // [c, m]
            parts.add(a.muli(b).sum(new int[]{1}));                         // [c]
        }
        return parts.size() == 1 ? parts.singletonOrThrow() : NDArrays.concat(parts);
    }

    /** The entries as a libtorch sparse COO array of {@link #shape()}. */
    NDArray coo() {
        return coo(rows, columns, shape);
    }

    private NDArray coo(NDArray first, NDArray second, Shape cooShape) {
        NDArray indices = first.stack(second);                              // [2, N]
        return JniUtils.createSparseCoo((PtNDArray) indices, (PtNDArray) values, cooShape);
    }

    /** table[index] for an int64 index [c]: [c, m] (embedding lookup: a contiguous copy per row). */
    private static NDArray gatherRows(NDArray table, NDArray index) {
        return JniUtils.embedding((PtNDArray) index, (PtNDArray) table, false);
    }
}
