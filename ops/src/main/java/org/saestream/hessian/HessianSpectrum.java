package org.saestream.hessian;

import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.saestream.files.StagedDirectory;
import org.saestream.lm.LossCurvature;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The top of the loss Hessian's spectrum over a fixed token set: Lanczos on Hessian-vector products
 * ({@link LossCurvature}), each eigenvector's mass per parameter (where in the network the curvature lives: the
 * "modules" of Vaintrob and Panickssery's Hessian analysis), written as {@code hessian.safetensors} (every chosen
 * parameter's slice of the k eigenvectors, [k, *shape], named by the parameter; {@code eigenvalues} and
 * {@code residuals} in float64) and {@code hessian.json}.
 *
 * @param loss       the mean loss the Hessian belongs to
 * @param names      the chosen parameters, in vector order
 * @param shapes     their shapes
 * @param lanczos    the eigenpairs, largest first
 * @param seconds    wall time of the Lanczos run
 */
public record HessianSpectrum(double loss, List<String> names, Map<String, Shape> shapes, Lanczos.Result lanczos,
                              double seconds) {
    /** The k largest eigenpairs of {@code curvature}'s Hessian after at most m products from a seeded start. */
    public static HessianSpectrum compute(LossCurvature curvature, int k, int m, long seed,
                                          Consumer<Integer> progress) {
        requireMemory(curvature.dimension(), m, Runtime.getRuntime().maxMemory());
        long start = System.nanoTime();
        Lanczos.Result result = Lanczos.top(curvature::hessianVectorProduct, Math.toIntExact(curvature.dimension()),
                k, m, seed, progress);
        return new HessianSpectrum(curvature.loss(), curvature.parameterNames(), curvature.shapes(), result,
                (System.nanoTime() - start) / 1e9);
    }

    /**
     * Fails before any product, naming what to change, when Lanczos's basis (m vectors) and its working vectors (about
     * four more) of n doubles would not fit in {@code heapBytes} with a fifth to spare.
     */
    static void requireMemory(long n, int m, long heapBytes) {
        long need = (m + 4L) * n * Double.BYTES;
        if (need > heapBytes * 0.8) {
            throw new IllegalArgumentException(String.format(java.util.Locale.ROOT, "Lanczos keeps %d vectors of %,d "
                    + "parameters in double: %.1f GB, more than the %.1f GB heap allows; choose fewer parameters "
                    + "(--params), fewer --iterations, or a larger heap (SAESTREAM_JAVA_OPTS=-Xmx...)", m + 4, n,
                    need / 1e9, heapBytes / 1e9));
        }
    }

    /** Each parameter's share of eigenvector {@code i}'s squared norm (summing to 1), largest first. */
    public List<Map.Entry<String, Double>> shares(int i) {
        double[] y = lanczos.pairs().get(i).vector();
        List<Map.Entry<String, Double>> out = new ArrayList<>();
        int at = 0;
        for (String name : names) {
            int size = Math.toIntExact(shapes.get(name).size());
            double s = 0;
            for (int j = at; j < at + size; j++) {
                s += y[j] * y[j];
            }
            out.add(Map.entry(name, s));
            at += size;
        }
        out.sort(Map.Entry.<String, Double>comparingByValue(Comparator.reverseOrder()));
        return out;
    }

    /** Writes the directory {@code out} (which must not exist) with what {@code describe} adds to the JSON. */
    public void write(Path out, Map<String, Object> describe) throws IOException {
        int k = lanczos.pairs().size();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        double[] values = new double[k];
        double[] residuals = new double[k];
        for (int i = 0; i < k; i++) {
            values[i] = lanczos.pairs().get(i).value();
            residuals[i] = lanczos.pairs().get(i).residual();
        }
        tensors.put("eigenvalues", Tensor.ofDoubles(values, k));
        tensors.put("residuals", Tensor.ofDoubles(residuals, k));
        int at = 0;
        for (String name : names) {
            Shape shape = shapes.get(name);
            int size = Math.toIntExact(shape.size());
            float[] slice = new float[k * size];
            for (int i = 0; i < k; i++) {
                double[] y = lanczos.pairs().get(i).vector();
                for (int j = 0; j < size; j++) {
                    slice[i * size + j] = (float) y[at + j];
                }
            }
            long[] dims = new long[shape.dimension() + 1];
            dims[0] = k;
            System.arraycopy(shape.getShape(), 0, dims, 1, shape.dimension());
            tensors.put(name, Tensor.ofFloats(slice, dims));
            at += size;
        }
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.valueToTree(describe);
        root.put("loss", loss);
        root.put("dimension", at);
        root.put("lanczos_iterations", lanczos.iterations());
        root.put("seconds", seconds);
        ArrayNode pairs = root.putArray("eigenpairs");
        for (int i = 0; i < k; i++) {
            Lanczos.Pair p = lanczos.pairs().get(i);
            ObjectNode e = pairs.addObject().put("eigenvalue", p.value()).put("residual", p.residual())
                    .put("relative_residual", p.relativeResidual());
            ObjectNode top = e.putObject("parameter_shares");
            shares(i).stream().limit(5).forEach(s -> top.put(s.getKey(), s.getValue()));
        }
        try (StagedDirectory dir = StagedDirectory.create(out)) {
            Map<String, String> metadata = new LinkedHashMap<>();
            describe.forEach((key, v) -> metadata.put(key, String.valueOf(v)));
            Safetensors.write(dir.staging().resolve("hessian.safetensors"), tensors, metadata);
            dir.write("hessian.json", json.writeValueAsBytes(root));
            dir.publishNew();
        }
    }
}
