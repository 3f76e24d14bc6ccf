package org.saestream.lm;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;

/**
 * A Hugging Face model directory loaded for forwards on DJL's PyTorch engine in a {@link ComputeDtype}
 * (float32 unless asked otherwise), with TransformerLens hook points, the next-token loss, and gradients
 * of that loss with respect to hooked activations and to every parameter; every result is float32,
 * whatever the compute dtype.
 *
 * <p>Weights live in the model's own NDManager until {@link #close()}. Each forward works inside an
 * NDScope, so its temporaries are freed when it returns; only the arrays of the {@link ForwardResult}
 * survive, attached to the caller's manager. Load the model outside any NDScope. Forwards that need
 * gradients open a GradientCollector, and DJL allows one per thread at a time.
 */
public final class LanguageModel implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LanguageModel.class);

    private final Path directory;
    private final ModelFamily family;
    private final ComputeDtype dtype;
    private final NDManager manager;
    private final Parameters parameters;
    private final Transformer transformer;

    private LanguageModel(Path directory, ModelFamily family, ComputeDtype dtype, NDManager manager,
                          Parameters parameters) {
        this.directory = directory;
        this.family = family;
        this.dtype = dtype;
        this.manager = manager;
        this.parameters = parameters;
        this.transformer = family.build(parameters);
    }

    /** Loads config.json and the safetensors weights of a model directory onto the CPU, in float32. */
    public static LanguageModel load(Path directory) {
        return load(directory, Device.cpu());
    }

    /** Loads onto the device, in float32. */
    public static LanguageModel load(Path directory, Device device) {
        return load(directory, device, ComputeDtype.FLOAT32);
    }

    /**
     * Loads onto the device with the weights cast once to {@code dtype}, in which every forward then runs
     * (results are still float32). Fails first, naming the dtype and the device, where the dtype cannot run.
     */
    public static LanguageModel load(Path directory, Device device, ComputeDtype dtype) {
        dtype.checkSupported(device);
        Path config = directory.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            throw new IllegalArgumentException(directory + ": no config.json (not a Hugging Face model directory)");
        }
        ModelFamily family = ModelFamily.fromConfig(config);
        CheckpointFiles files = CheckpointFiles.read(directory);
        warnIfSlow(dtype, device);
        NDManager manager = NDManager.newBaseManager(device);
        try {
            return new LanguageModel(directory, family, dtype, manager, WeightLoader.load(files, family, manager, dtype));
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * A model of the given family with random weights (N(0, 0.02) matrices, unit norm weights, zero
     * biases): for benchmarks and tests of shapes, never for activations anyone reads.
     */
    public static LanguageModel withRandomWeights(ModelFamily family, long seed, Device device) {
        return withRandomWeights(family, seed, device, ComputeDtype.FLOAT32);
    }

    /** Random weights as {@link #withRandomWeights(ModelFamily, long, Device)}, drawn in float32 and cast to dtype. */
    public static LanguageModel withRandomWeights(ModelFamily family, long seed, Device device, ComputeDtype dtype) {
        dtype.checkSupported(device);
        warnIfSlow(dtype, device);
        NDManager manager = NDManager.newBaseManager(device);
        try {
            manager.getEngine().setRandomSeed((int) seed);
            Map<String, NDArray> arrays = new LinkedHashMap<>();
            family.parameterShapes().forEach((name, shape) -> {
                boolean norm = name.contains("norm") || name.contains("ln_");
                NDArray a = name.endsWith(".bias") ? manager.zeros(shape)
                        : norm ? manager.ones(shape) : manager.randomNormal(0f, 0.02f, shape, DataType.FLOAT32);
                if (dtype != ComputeDtype.FLOAT32) {
                    try (NDArray float32 = a) {
                        a = float32.toType(dtype.dataType(), false);
                    }
                }
                a.setName(name);
                arrays.put(name, a);
            });
            return new LanguageModel(Path.of("random:" + family.modelType()), family, dtype, manager,
                    new Parameters(arrays));
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * A float32 model of the given family whose weights {@code init} supplies: for each canonical name
     * (in {@link ModelFamily#parameterShapes()} order) and its shape, the row-major values, copied onto the
     * device. For a training initialisation; the model owns its weights, so they may be updated in place.
     */
    public static LanguageModel withInitialWeights(ModelFamily family, Device device,
                                                   BiFunction<String, Shape, float[]> init) {
        NDManager manager = NDManager.newBaseManager(device);
        try {
            Map<String, NDArray> arrays = new LinkedHashMap<>();
            family.parameterShapes().forEach((name, shape) -> {
                float[] values = init.apply(name, shape);
                if (values == null || values.length != shape.size()) {
                    throw new IllegalArgumentException("initial weights of '" + name + "' " + shape + " need "
                            + shape.size() + " values, got " + (values == null ? "none" : values.length));
                }
                NDArray a = manager.create(values, shape);
                a.setName(name);
                arrays.put(name, a);
            });
            return new LanguageModel(Path.of("init:" + family.modelType()), family, ComputeDtype.FLOAT32, manager,
                    new Parameters(arrays));
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    public Path directory() {
        return directory;
    }

    public ModelFamily family() {
        return family;
    }

    public Dims dims() {
        return family.dims();
    }

    public Device device() {
        return manager.getDevice();
    }

    /** The dtype the weights are held and the forward computed in. */
    public ComputeDtype computeDtype() {
        return dtype;
    }

    /** The weights (in the compute dtype, canonical Hugging Face names); updating them in place changes the model. */
    public Parameters parameters() {
        return parameters;
    }

    /** Runs the request over the batch; the result's arrays belong to {@code out}. */
    public ForwardResult forward(NDManager out, TokenBatch batch, ForwardRequest request) {
        return forward(out, batch, request, Map.of());
    }

    /**
     * A forward without gradients in which the activation at each named hook is replaced by what its function
     * returns for it (a splice: an SAE's reconstruction, zeros, a mean), in the compute dtype and shape it was given;
     * the request's activation at such a hook is the original.
     */
    public ForwardResult forward(NDManager out, TokenBatch batch, ForwardRequest request,
                                 Map<String, UnaryOperator<NDArray>> replacements) {
        validate(batch, request);
        requireHooks(replacements.keySet());
        if (!replacements.isEmpty() && request.needsBackward()) {
            throw new IllegalArgumentException("a spliced forward computes no gradients");
        }
        Map<HookPoint, UnaryOperator<NDArray>> splices = new LinkedHashMap<>();
        replacements.forEach((name, f) -> splices.put(HookPoint.parse(name), f));
        try (NDManager work = out.newSubManager(device()); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray ids = work.create(batch.flatIds(), new Shape(batch.batchSize(), batch.length())); // [B, T] int64
            if (!request.needsBackward()) {
                HookRecorder hooks = new HookRecorder(request.hooks(), Set.of(), work, splices);
                Pass pass = pass(work, transformer, ids, batch, request, hooks);
                return collect(out, hooks, pass, Map.of(), Map.of());
            }
            try (GradientCollector collector = work.getEngine().newGradientCollector()) {
                Parameters params = request.parameterGradients() ? parameters.leaves() : parameters;
                Transformer model = request.parameterGradients() ? family.build(params) : transformer;
                HookRecorder hooks = new HookRecorder(request.hooks(), request.gradientHooks(), work);
                Pass pass = pass(work, model, ids, batch, request, hooks);
                collector.backward(pass.loss().loss());
                Map<String, NDArray> gradients = new LinkedHashMap<>();
                hooks.probes().forEach((hook, probe) -> gradients.put(hook.name(), keep(out, float32(probe.getGradient()))));
                Map<String, NDArray> parameterGradients = new LinkedHashMap<>();
                if (request.parameterGradients()) {
                    params.asMap().forEach((name, leaf) -> parameterGradients.put(name, keep(out, float32(leaf.getGradient()))));
                }
                return collect(out, hooks, pass, gradients, parameterGradients);
            }
        }
    }

    /**
     * The mean next-token loss of one batch (a 0-d array in float32, float64 for a float64 model) with the model built
     * from {@code params}, in the autograd graph of whatever collector is open: for second-order work
     * ({@link LossCurvature}), whose leaves are some of the parameters.
     */
    NDArray meanLoss(NDManager work, Parameters params, TokenBatch batch) {
        NDArray ids = work.create(batch.flatIds(), new Shape(batch.batchSize(), batch.length())); // [B, T] int64
        ForwardRequest request = ForwardRequest.of().withLoss();
        return pass(work, family.build(params), ids, batch, request, new HookRecorder(Set.of(), Set.of(), work))
                .loss().loss();
    }

    /** The forward's own outputs before they are handed to the caller; logits and loss may be null. */
    private record Pass(NDArray logits, NextTokenLoss loss) {
    }

    private Pass pass(NDManager work, Transformer model, NDArray ids, TokenBatch batch, ForwardRequest request,
                      HookRecorder hooks) {
        AttentionContext context = model.context(work, batch, dtype.dataType());
        NDArray residual = model.residual(ids, context, hooks, request.blocksToRun(model.layers())); // [B, T, d]
        boolean wantsNormalized = request.hooks().contains(HookPoint.finalNorm())
                || request.gradientHooks().contains(HookPoint.finalNorm());
        if (!request.needsHead()) {
            if (wantsNormalized) {
                model.normalize(residual, hooks);
            }
            return new Pass(null, null);
        }
        // [B, T, vocab]; in float32 from here (float64 for a float64 model), as HF's logits.float() before the loss
        NDArray logits = ComputeDtype.cast(model.unembed(model.normalize(residual, hooks)),
                ComputeDtype.atLeastFloat32(dtype.dataType()));
        NextTokenLoss loss = request.loss() ? NextTokenLoss.of(work, logits, ids, batch) : null;
        return new Pass(logits, loss);
    }

    private static ForwardResult collect(NDManager out, HookRecorder hooks, Pass pass, Map<String, NDArray> gradients,
                                         Map<String, NDArray> parameterGradients) {
        Map<String, NDArray> activations = new LinkedHashMap<>();
        hooks.activations().forEach((hook, a) -> activations.put(hook.name(), keep(out, float32(a.stopGradient()))));
        Optional<NDArray> logits = Optional.empty();
        Optional<NDArray> logProbs = Optional.empty();
        OptionalDouble loss = OptionalDouble.empty();
        if (pass.logits() != null) {
            logits = Optional.of(keep(out, pass.logits().stopGradient()));
        }
        if (pass.loss() != null) {
            logProbs = Optional.of(keep(out, pass.loss().logProbs().stopGradient()));
            loss = OptionalDouble.of(pass.loss().loss().getFloat());
        }
        return new ForwardResult(activations, gradients, parameterGradients, logits, logProbs, loss);
    }

    /** A gradient or activation as the caller gets it: float32 (a copy when the compute dtype is narrower). */
    private static NDArray float32(NDArray array) {
        return ComputeDtype.float32(array);
    }

    /** Takes an array out of the forward's NDScope and hands it to the caller's manager. */
    private static NDArray keep(NDManager out, NDArray array) {
        NDScope.unregister(array);
        array.attach(out);
        return array;
    }

    /**
     * Fails, naming the hook and why, unless every one of {@code names} is a TransformerLens hook this model has;
     * callers check before they create topics or start work.
     */
    public void requireHooks(java.util.Collection<String> names) {
        for (String name : names) {
            family.checkHook(HookPoint.parse(name));
        }
    }

    private void validate(TokenBatch batch, ForwardRequest request) {
        request.hooks().forEach(family::checkHook);
        request.gradientHooks().forEach(family::checkHook);
        if (batch.maxId() >= dims().vocabSize()) {
            throw new IllegalArgumentException("token id " + batch.maxId() + " is outside the vocabulary of "
                    + dims().vocabSize() + " (" + directory + ")");
        }
        if (batch.length() > family.maxSequenceLength()) {
            throw new IllegalArgumentException("sequence of " + batch.length() + " tokens is longer than the "
                    + family.maxSequenceLength() + " positions this " + family.modelType() + " model has");
        }
    }

    private static void warnIfSlow(ComputeDtype dtype, Device device) {
        if (dtype == ComputeDtype.FLOAT16 && !device.isGpu()) {
            LOG.warn("compute dtype float16 on {}: PyTorch's CPU float16 kernels are far slower than float32"
                    + " (a forward about 15x); use it on CPU to check numerics, on CUDA for speed", ComputeDtype.describe(device));
        }
    }

    @Override
    public void close() {
        manager.close();
    }

    @Override
    public String toString() {
        return "LanguageModel[" + family.modelType() + " " + dims() + " " + dtype + " from " + directory + "]";
    }
}
