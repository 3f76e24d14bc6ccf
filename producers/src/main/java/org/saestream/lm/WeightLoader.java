package org.saestream.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.saestream.tensor.DType;
import org.saestream.tensor.Tensor;
import org.saestream.tensor.TensorCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Maps stored tensors to a family's canonical names, checks that every required tensor is present with
 * the shape config.json implies and a float dtype, then widens them to float32 NDArrays (BF16 in Java,
 * see TensorCodec) and casts those to the compute dtype, one tensor at a time. Everything is checked
 * before anything is allocated.
 */
final class WeightLoader {
    private static final Logger LOG = LoggerFactory.getLogger(WeightLoader.class);

    private WeightLoader() {
    }

    static Parameters load(CheckpointFiles files, ModelFamily family, NDManager manager, ComputeDtype dtype) {
        Map<String, Shape> expected = family.parameterShapes();
        Map<String, CheckpointFiles.StoredTensor> found = new LinkedHashMap<>();
        List<String> unused = new ArrayList<>();
        for (CheckpointFiles.StoredTensor stored : files.tensors()) {
            Optional<String> canonical = family.canonicalName(stored.name());
            if (canonical.isEmpty()) {
                continue; // a buffer, or an unembedding tied to the embedding
            }
            String name = canonical.get();
            if (!expected.containsKey(name)) {
                unused.add(stored.file().getFileName() + ":" + stored.name());
                continue;
            }
            CheckpointFiles.StoredTensor previous = found.put(name, stored);
            if (previous != null) {
                throw new IllegalArgumentException(stored.file() + ": tensor '" + stored.name() + "' and "
                        + previous.file() + ": tensor '" + previous.name() + "' are both '" + name + "'");
            }
        }
        for (Map.Entry<String, Shape> e : expected.entrySet()) {
            check(files, family, e.getKey(), e.getValue(), found.get(e.getKey()));
        }
        if (!unused.isEmpty()) {
            LOG.warn("{}: ignoring {} tensor(s) a {} model does not use: {}", files.source(), unused.size(),
                    family.modelType(), unused);
        }
        Map<String, NDArray> arrays = new LinkedHashMap<>();
        try {
            for (String name : expected.keySet()) {
                CheckpointFiles.StoredTensor stored = found.get(name);
                NDArray array = toComputeDtype(stored, toOwnedFloat32(manager, stored.tensor()), dtype);
                array.setName(name);
                arrays.put(name, array);
            }
        } catch (RuntimeException e) {
            arrays.values().forEach(NDArray::close);
            throw e;
        }
        return new Parameters(arrays);
    }

    private static void check(CheckpointFiles files, ModelFamily family, String name, Shape shape,
                              CheckpointFiles.StoredTensor stored) {
        if (stored == null) {
            throw new IllegalArgumentException(files.source() + ": missing tensor '" + name + "', which a "
                    + family.modelType() + " model with " + family.dims().layers() + " layers needs (config.json)");
        }
        Tensor t = stored.tensor();
        if (!t.dtype().isFloat16Or32()) {
            throw new IllegalArgumentException(stored.file() + ": tensor '" + stored.name() + "' has dtype "
                    + t.dtype() + "; weights must be F32, F16 or BF16");
        }
        if (!Arrays.equals(t.shape(), shape.getShape())) {
            throw new IllegalArgumentException(stored.file() + ": tensor '" + stored.name() + "' has shape "
                    + Arrays.toString(t.shape()) + " but config.json implies " + Arrays.toString(shape.getShape())
                    + " (" + family.modelType() + ", " + family.dims() + ")");
        }
    }

    /** The float32 weight cast to the compute dtype (closing the float32 copy); fails if float16 cannot hold it. */
    private static NDArray toComputeDtype(CheckpointFiles.StoredTensor stored, NDArray float32, ComputeDtype dtype) {
        if (dtype == ComputeDtype.FLOAT32) {
            return float32;
        }
        try (float32) {
            if (dtype == ComputeDtype.FLOAT16) {
                float largest;
                try (NDArray abs = float32.abs(); NDArray max = abs.max()) {
                    largest = max.getFloat();
                }
                if (largest > ComputeDtype.FLOAT16_MAX) {
                    throw new IllegalArgumentException(stored.file() + ": tensor '" + stored.name() + "' holds "
                            + largest + ", beyond float16's largest finite value " + ComputeDtype.FLOAT16_MAX
                            + "; load this model with compute dtype float32");
                }
            }
            return float32.toType(dtype.dataType(), false);
        }
    }

    private static NDArray toOwnedFloat32(NDManager manager, Tensor t) {
        NDArray array = TensorCodec.toNDArray(manager, t.data(), t.dtype(), new Shape(t.shape()));
        if (t.dtype() != DType.F32) {
            return array; // widened into fresh memory already
        }
        // an F32 array wraps the memory-mapped file; copy it so the weights own (and may update) their memory
        try (array) {
            return array.duplicate();
        }
    }
}
