package org.saestream.sae;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.saestream.files.SaeLensLayout;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;

/**
 * Trains one SAE online, one batch per {@link #step}. Each step: forward, loss and hand-written
 * gradients ({@link SaeArchitecture}, which sees which latents are dead before the batch), remove the
 * decoder gradient parallel to each decoder row, mask the gradients of frozen features, Adam,
 * renormalise decoder rows to unit length, update the architecture's buffers, count which latents
 * fired; then, when due, resample dead features ({@link DeadFeatureResampler}) and close a drift window
 * ({@link DriftTracker}, which may freeze features).
 *
 * <p>Before the first step the trainer is prepared from data ({@link #prepare}): b_dec from the first
 * buffer and, when normalising, the activation scale every input is multiplied by.
 *
 * <p>Owns a child of the given manager holding the parameters and Adam state; each step's
 * temporaries live in an NDScope and a sub-manager closed before the step returns. Not thread-safe:
 * one thread steps it (NDScope is per thread). {@link #exportState()} and {@link #restore} carry the
 * complete state, so a restored trainer continues bit for bit as the original would have.
 */
public final class SaeTrainer implements AutoCloseable {
    private final SaeConfig config;
    private final SaeArchitecture architecture;
    private final NDManager manager;
    private final SaeParameters params;
    private final AdamOptimizer adam;
    private final FeatureStatistics statistics;
    private long steps;
    private boolean prepared;
    private double activationScale;
    private DriftTracker drift;
    private long resampledTotal;
    /** Where a step's rows are copied on the CPU ({@link #stepRows}): [batchSize, rowWidth], made at the first step. */
    private NDArray stepRows;
    /** A pretrained SAE's activation scale until preparation converts its weights to this trainer's; 0 when fresh. */
    private double pretrainedScale;

    /** A freshly initialised SAE (see {@link SaeParameters#initial}), not yet prepared. */
    public SaeTrainer(SaeConfig config, NDManager parent) {
        this.config = config;
        this.architecture = config.architecture();
        this.manager = parent.newSubManager();
        try {
            this.params = SaeParameters.initial(manager, config.shape(), config.seed(), architecture);
            this.adam = AdamOptimizer.create(manager, config);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
        this.statistics = new FeatureStatistics(config.dSae(), config.deadWindowTokens());
        this.steps = 0;
        this.activationScale = 1.0;
        this.drift = new DriftTracker(config.options(), config.dSae(), config.dOut());
    }

    /**
     * A trainer as the config says it starts: from fresh weights, or with {@link TrainingOptions#initFrom()} from a
     * pretrained SAE's (Adam, statistics and drift fresh; b_dec kept, not taken from data; the activation scale, when
     * normalising, still measured on the first buffer and the weights converted to it).
     */
    public static SaeTrainer create(SaeConfig config, NDManager parent) {
        String from = config.options().initFrom();
        return from == null ? new SaeTrainer(config, parent)
                : new SaeTrainer(config, parent, PretrainedWeights.load(config, java.nio.file.Path.of(from)));
    }

    private SaeTrainer(SaeConfig config, NDManager parent, PretrainedWeights pretrained) {
        this.config = config;
        this.architecture = config.architecture();
        this.manager = parent.newSubManager();
        try {
            this.params = SaeParameters.fromFloats(manager, config.shape(), architecture, pretrained.values());
            this.adam = AdamOptimizer.create(manager, config);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
        this.statistics = new FeatureStatistics(config.dSae(), config.deadWindowTokens());
        this.activationScale = 1.0;
        this.pretrainedScale = pretrained.scale();
        this.drift = new DriftTracker(config.options(), config.dSae(), config.dOut());
    }

    private SaeTrainer(SaeConfig config, NDManager parent, SaeTrainerState.Decoded state) {
        this.config = config;
        this.architecture = config.architecture();
        this.manager = parent.newSubManager();
        try {
            this.params = SaeParameters.fromFloats(manager, config.shape(), architecture, state.parameters());
            this.adam = AdamOptimizer.restore(manager, config, state.firstMoments(), state.secondMoments(),
                    state.adamStep());
            this.statistics = state.statistics();
            this.steps = state.steps();
            SaeTrainerState.Progress progress = state.progress();
            this.prepared = progress.prepared();
            this.activationScale = progress.activationScale();
            if (!prepared && config.options().initFrom() != null) {
                // restored before its first step: the weights are still the pretrained ones, in their own scale
                this.pretrainedScale = SaeLensFormat.read(java.nio.file.Path.of(config.options().initFrom()))
                        .activationScale();
            }
            this.resampledTotal = progress.resampledTotal();
            if (progress.drift() != null) {
                this.drift = new DriftTracker(config.options(), config.dSae(), config.dOut(), progress.drift());
            } else { // a format-1 state: drift windows start here
                this.drift = new DriftTracker(config.options(), config.dSae(), config.dOut());
                if (prepared) {
                    long tokens = statistics.tokensSeen();
                    drift.start(params.toFloats(SaeLensLayout.W_DEC), tokens,
                            tokens / config.options().driftWindowTokens());
                }
            }
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * A trainer continuing from {@link #exportState()} bytes. The config must describe the same
     * architecture and shapes, the same activation normalisation and the same drift window and
     * lookback; its optimizer settings (learning rate, betas), freezing and resampling rules may differ
     * and apply from the next step (features frozen so far stay frozen).
     */
    public static SaeTrainer restore(SaeConfig config, byte[] state, NDManager parent) {
        return new SaeTrainer(config, parent, SaeTrainerState.decode(config, state));
    }

    /**
     * Restores a state exported by {@link #exportStateWithoutBoundaries} together with the decoders of
     * {@link #exportDriftBoundaries} (or a whole {@link #exportState}, with {@code boundaries} null).
     */
    public static SaeTrainer restore(SaeConfig config, byte[] state, byte[] boundaries, NDManager parent) {
        return new SaeTrainer(config, parent, SaeTrainerState.decode(config, state, boundaries));
    }

    /**
     * Initialises from data, once, before the first step: b_dec per {@link TrainingOptions#decoderBiasInit()}
     * (a transcoder's from its target columns; its b_enc then centres the pre-activations, -mu_x W_enc with mu_x the
     * same statistic of its input, as EleutherAI's sparsify starts its transcoders)
     * and, with {@link TrainingOptions#normalizeActivations()}, the activation scale s (mean over these rows
     * of ||s x||^2 = dIn, s rounded to float32), both from the first {@code count} rows of {@code rows}
     * (row-major [count, {@link SaeConfig#rowWidth()}]; count may exceed the batch size: pass the whole first
     * buffer). b_dec is
     * computed on the scaled rows. Takes drift boundary 0 (the decoder as initialised). Without a call,
     * the first {@link #step} prepares from its own batch. Throws IllegalStateException when already
     * prepared, IllegalArgumentException for non-finite rows or all-zero rows when normalising.
     */
    public void prepare(float[] rows, int count) {
        if (prepared) {
            throw new IllegalStateException("SAE " + config.saeId() + " is already prepared (prepare runs at most once,"
                    + " before the first step; steps taken: " + steps + ")");
        }
        if (config.isTranscoder()) {
            initialiseTranscoderBiases(rows, count);
        } else {
            initialiseFromData(rows, count);
        }
        prepared = true;
        long tokens = statistics.tokensSeen();
        drift.start(params.toFloats(SaeLensLayout.W_DEC), tokens, tokens / config.options().driftWindowTokens());
    }

    /** An autoencoder's b_dec and activation scale (or a pretrained SAE's weights converted to the scale). */
    private void initialiseFromData(float[] rows, int count) {
        DataInitialization.Result init = DataInitialization.compute(config.options(), rows, count, config.dIn());
        activationScale = init.activationScale();
        if (pretrainedScale > 0) {
            // the weights expect raw x u = x s_src; this trainer feeds x s = u q: W_enc / q, W_dec q, b_dec q
            float q = (float) (activationScale / pretrainedScale);
            if (q != 1f) {
                FeatureSlices.overwrite(params.wEnc(), times(params.toFloats(SaeLensLayout.W_ENC), 1f / q));
                FeatureSlices.overwrite(params.wDec(), times(params.toFloats(SaeLensLayout.W_DEC), q));
                FeatureSlices.overwrite(params.bDec(), times(params.toFloats(SaeLensLayout.B_DEC), q));
            }
        } else {
            FeatureSlices.overwrite(params.bDec(), init.decoderBias());
        }
    }

    /** b_dec from the target's columns, b_enc = -mu_x W_enc from the input's (both on raw activations). */
    private void initialiseTranscoderBiases(float[] rows, int count) {
        int dIn = config.dIn();
        int width = config.rowWidth();
        if (count < 1 || (long) count * width > rows.length) {
            throw new IllegalArgumentException("prepare needs 1 <= count and count * (d_in + d_out) <= " + rows.length
                    + " floats, got count " + count + " of width " + width);
        }
        float[] inputs = new float[count * dIn];
        float[] targets = new float[count * config.dOut()];
        for (int r = 0; r < count; r++) {
            System.arraycopy(rows, r * width, inputs, r * dIn, dIn);
            System.arraycopy(rows, r * width + dIn, targets, r * config.dOut(), config.dOut());
        }
        float[] inputCentre = DataInitialization.compute(config.options(), inputs, count, dIn).decoderBias();
        float[] bDec = DataInitialization.compute(config.options(), targets, count, config.dOut()).decoderBias();
        float[] wEnc = params.toFloats(SaeLensLayout.W_ENC);                                    // [dIn, dSae]
        int dSae = config.dSae();
        float[] bEnc = new float[dSae];
        for (int i = 0; i < dSae; i++) {
            double acc = 0;
            for (int j = 0; j < dIn; j++) {
                acc -= (double) inputCentre[j] * wEnc[j * dSae + i];
            }
            bEnc[i] = (float) acc;
        }
        FeatureSlices.overwrite(params.bDec(), bDec);
        FeatureSlices.overwrite(params.bEnc(), bEnc);
    }

    private static float[] times(float[] values, float factor) {
        float[] out = values.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] *= factor;
        }
        return out;
    }

    /**
     * What preparation may change, to undo it: b_dec, for a transcoder b_enc, and for a pretrained start W_enc and
     * W_dec too.
     */
    private Map<String, float[]> beforePreparation() {
        Map<String, float[]> before = new java.util.LinkedHashMap<>();
        before.put(SaeLensLayout.B_DEC, params.toFloats(SaeLensLayout.B_DEC));
        if (config.isTranscoder()) {
            before.put(SaeLensLayout.B_ENC, params.toFloats(SaeLensLayout.B_ENC));
        }
        if (pretrainedScale > 0) {
            before.put(SaeLensLayout.W_ENC, params.toFloats(SaeLensLayout.W_ENC));
            before.put(SaeLensLayout.W_DEC, params.toFloats(SaeLensLayout.W_DEC));
        }
        return before;
    }

    /** Undoes a preparation the step that made it could not complete. */
    private void unprepare(Map<String, float[]> before) {
        before.forEach((name, values) -> FeatureSlices.overwrite(params.get(name), values));
        activationScale = 1.0;
        prepared = false;
        drift = new DriftTracker(config.options(), config.dSae(), config.dOut());
    }

    /**
     * Trains on the first {@code rows} tokens of {@code batch}, row-major [rows, dIn]
     * (1 <= rows <= batchSize; batch may be longer than rows * dIn), multiplied by the activation scale. A
     * transcoder's rows are [rows, dIn + dOut]: each token's input, then its target ({@link SaeConfig#rowWidth()}).
     * Prepares the trainer from this batch first if {@link #prepare} was not called. Throws
     * IllegalStateException, leaving the state unchanged, if the loss (or, for the preparing step, the
     * input) is not finite, and if the SAE has {@link #finished()}; IllegalArgumentException, also leaving
     * it unchanged, for a bad shape or a preparing batch that cannot be normalised (all zeros).
     */
    public StepResult step(float[] batch, int rows) {
        int width = config.rowWidth();
        if (finished()) {
            throw new IllegalStateException("SAE " + config.saeId() + " has finished: every live feature is frozen"
                    + " (freezing.stopWhenAllLiveFrozen); check finished() before stepping");
        }
        if (rows < 1 || rows > config.batchSize()) {
            throw new IllegalArgumentException("rows must be in [1, batchSize=" + config.batchSize() + "], got " + rows);
        }
        if (batch.length < rows * width) {
            throw new IllegalArgumentException("batch holds " + batch.length + " floats but " + rows + " rows of "
                    + (config.isTranscoder() ? "d_in + d_out " : "dIn ") + width + " need " + rows * width);
        }
        Map<String, float[]> beforePreparation = null;
        if (!prepared) {
            for (int i = 0; i < rows * width; i++) {
                if (!Float.isFinite(batch[i])) {
                    throw new IllegalStateException("SAE " + config.saeId() + ": non-finite input " + batch[i]
                            + " in the batch of step " + (steps + 1) + " that would prepare the trainer; state left"
                            + " at step " + steps);
                }
            }
            beforePreparation = beforePreparation();
            prepare(batch, rows);
        }
        try (NDManager stepManager = manager.newSubManager(); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray x;                                                                                // [B, dIn]
            NDArray target;                                                                           // [B, dOut]
            NDArray batchRows = stepRows(stepManager, batch, rows);                                  // [B, width]
            if (config.isTranscoder()) {
                x = batchRows.get(":, :" + config.dIn());
                target = batchRows.get(":, " + config.dIn() + ":");
            } else {
                x = scaled(batchRows);
                target = x;
            }
            var context = new SaeArchitecture.TrainingContext(steps, statistics.deadLatents());
            SaeArchitecture.TrainingPass pass = architecture.trainingPass(params, x, target, context);

            NDArray firesPerLatent = pass.firesPerLatent();                                           // [dSae]
            NDArray sumSquaredError = pass.mse().duplicate().muli(rows);                              // []
            NDArray totalVariance = target.sub(target.mean(new int[]{0})).square().sum();            // []
            NDArray activeCount = firesPerLatent.sum();                                               // []
            double[] scalars = NDArrays.stack(new NDList(pass.mse(), pass.sparsityPenalty(), pass.loss(),
                    sumSquaredError, totalVariance, activeCount)).toType(DataType.FLOAT64, false).toDoubleArray();
            double loss = scalars[2];
            if (!Double.isFinite(loss)) {
                if (beforePreparation != null) {
                    unprepare(beforePreparation);
                }
                throw new IllegalStateException("SAE " + config.saeId() + ": loss is " + loss + " at step " + (steps + 1)
                        + " (mse " + scalars[0] + ", sparsity " + scalars[1] + "); non-finite input or divergence,"
                        + " state left at step " + steps);
            }

            DecoderConstraint.removeParallelGradient(params.wDec(), pass.gradients().get(SaeLensLayout.W_DEC));
            NDArray frozen = drift.anyFrozen() ? stepManager.create(flags(drift.frozen())) : null;      // [dSae]
            if (frozen != null) {
                maskFrozen(pass.gradients(), frozen);
            }
            adam.update(params, pass.gradients());
            if (frozen != null) {
                DecoderConstraint.normalizeRows(params.wDec(), frozen);
            } else {
                DecoderConstraint.normalizeRows(params.wDec());
            }
            pass.bufferUpdates().forEach(params::updateBuffer);
            long tokensBefore = statistics.tokensSeen();
            statistics.record(rows, firesPerLatent.toFloatArray());
            steps++;
            resampleIfDue(tokensBefore, x, pass.forward().reconstruction());
            boolean windowClosed = closeWindowIfDue(tokensBefore);
            double fvu = scalars[4] > 0 ? scalars[3] / scalars[4] : Double.NaN;
            double[] prefixFvu = pass.prefixMse().size() == 0 ? new double[0]
                    : pass.prefixMse().toType(DataType.FLOAT64, false).toDoubleArray();
            for (int m = 0; m < prefixFvu.length; m++) {
                prefixFvu[m] = scalars[4] > 0 ? prefixFvu[m] * rows / scalars[4] : Double.NaN;
            }
            return new StepResult(steps, rows, scalars[0], fvu, scalars[5] / rows, scalars[1], loss, windowClosed,
                    Arrays.stream(prefixFvu).boxed().toList());
        }
    }

    /**
     * The first rows of a step's batch as a [rows, width] tensor. On the CPU they are copied into a tensor the trainer
     * keeps from step to step, whose memory the engine reads in place: making a tensor from a heap float[] took seven
     * times as long as that copy (4.6 ms against 0.65 ms for a [4096, 512] batch).
     */
    private NDArray stepRows(NDManager stepManager, float[] batch, int rows) {
        int width = config.rowWidth();
        if (!Device.cpu().equals(manager.getDevice())) {
            return stepManager.create(FloatBuffer.wrap(batch, 0, rows * width), new Shape(rows, width));
        }
        if (stepRows == null) {
            stepRows = manager.create(new Shape(config.batchSize(), width), DataType.FLOAT32);
            NDScope.unregister(stepRows);   // made inside the first step's scope, kept for the next
        }
        CpuKernels.copyInto(stepRows, batch, rows * width);
        return rows == config.batchSize() ? stepRows : stepRows.get("0:" + rows);
    }

    /** Rows as the SAE sees them: times the activation scale, in place. */
    private NDArray scaled(NDArray x) {
        if (activationScale != 1.0) {
            x.muli((float) activationScale);   // a float32 value: the product is fl32(x * s), as DataInitialization
        }
        return x;
    }

    /**
     * Zeroes the gradient slices of frozen features, so that (with their Adam moments zeroed when they
     * froze) the update leaves them bit-identical.
     */
    private static void maskFrozen(Map<String, NDArray> gradients, NDArray frozen) {
        NDArray keep = frozen.neg().addi(1);                                                      // [dSae] 0 = frozen
        gradients.forEach((name, gradient) -> {
            if (FeatureSlices.isPerFeature(name)) {
                gradient.muli(FeatureSlices.alongFeatures(keep, name));
            }
        });
    }

    private void resampleIfDue(long tokensBefore, NDArray x, NDArray reconstruction) {
        TrainingOptions.Resampling resampling = config.options().resampling();
        if (resampling != null && statistics.tokensSeen() / resampling.everyTokens()
                > tokensBefore / resampling.everyTokens()) {
            resampledTotal += DeadFeatureResampler.resample(params, adam, statistics, drift.frozen(), x, reconstruction,
                    config.seed(), steps);
        }
    }

    private boolean closeWindowIfDue(long tokensBefore) {
        if (!drift.due(tokensBefore, statistics.tokensSeen())) {
            return false;
        }
        boolean[] newlyFrozen = drift.close(params.toFloats(SaeLensLayout.W_DEC), statistics.tokensSeen(),
                statistics.deadLatents());
        if (DriftReport.count(newlyFrozen) > 0) {
            adam.resetFeatures(newlyFrozen);
        }
        return true;
    }

    private static float[] flags(boolean[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i] ? 1f : 0f;
        }
        return out;
    }

    /**
     * The latents the SAE assigns at inference ({@link SaeArchitecture#forward}; BatchTopK uses its
     * threshold) to the first {@code rows} tokens of {@code batch} (raw activations: the activation scale
     * is applied here), row-major [rows, dSae]. No state changes.
     */
    public float[] encode(float[] batch, int rows) {
        int dIn = config.dIn();
        if (rows < 1 || batch.length < (long) rows * dIn) {
            throw new IllegalArgumentException("need 1 <= rows and rows * dIn <= " + batch.length + ", got rows " + rows);
        }
        try (NDManager stepManager = manager.newSubManager(); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray x = scaled(stepManager.create(FloatBuffer.wrap(batch, 0, rows * dIn), new Shape(rows, dIn)));
            return architecture.latents(params, x).toFloatArray();                                   // x [B, dIn]
        }
    }

    /** Whether {@link #prepare} has run (explicitly or from the first step's batch). */
    public boolean prepared() {
        return prepared;
    }

    /**
     * The scalar s every input is multiplied by ({@link TrainingOptions#normalizeActivations()}), a float32
     * value; 1.0 when not normalising or not yet prepared.
     */
    public double activationScale() {
        return activationScale;
    }

    /** The latest drift boundary's report; {@link DriftReport#windowIndex()} 0 before the first boundary. */
    public DriftReport drift() {
        return drift.report();
    }

    /**
     * What became of the features between the last two drift boundaries ({@link FeatureLineage}); empty before the
     * first window closes.
     */
    public Optional<FeatureLineage> lineage() {
        return drift.lineage();
    }

    /**
     * True when {@link TrainingOptions.Freezing#stopWhenAllLiveFrozen()} is set and every live feature is
     * frozen (at least one): training has converged and {@link #step} refuses further batches.
     */
    public boolean finished() {
        return drift.allLiveFrozen(statistics.deadLatents());
    }

    /** Dead features re-initialised so far ({@link TrainingOptions.Resampling}). */
    public long resampledTotal() {
        return resampledTotal;
    }

    public SaeConfig config() {
        return config;
    }

    public long tokensSeen() {
        return statistics.tokensSeen();
    }

    public long steps() {
        return steps;
    }

    /** The live statistics (see {@link FeatureStatistics} for what may be changed from outside). */
    public FeatureStatistics statistics() {
        return statistics;
    }

    /** Copy of W_dec, row-major [dSae, dOut] (dOut = dIn but for a transcoder), rows of unit length. */
    public float[] decoder() {
        return params.toFloats(SaeLensLayout.W_DEC);
    }

    /** Copy of W_enc, row-major [dIn, dSae]. */
    public float[] encoder() {
        return params.toFloats(SaeLensLayout.W_ENC);
    }

    /** Copy of b_enc [dSae]. */
    public float[] encoderBias() {
        return params.toFloats(SaeLensLayout.B_ENC);
    }

    /** Copy of b_dec [dOut]. */
    public float[] decoderBias() {
        return params.toFloats(SaeLensLayout.B_DEC);
    }

    /** Row-major float32 copy of any parameter or buffer by name (see {@link SaeParameters}). */
    public float[] tensor(String name) {
        return params.toFloats(name);
    }

    /**
     * The per-latent threshold [dSae] a SAELens JumpReLU SAE applies at inference (JumpReLU:
     * exp(log_threshold); BatchTopK: its running global threshold repeated); empty for architectures
     * without one.
     */
    public Optional<float[]> inferenceThreshold() {
        try (NDScope scope = new NDScope()) { // temporaries derived from the parameters die with the scope
            scope.suppressNotUsedWarning();
            return architecture.inferenceThreshold(params).map(t -> t.toType(DataType.FLOAT32, false).toFloatArray());
        }
    }

    /**
     * Parameters, Adam moments and step count, statistics, preparation (activation scale), drift and
     * freezing state, and counters as safetensors bytes.
     */
    public byte[] exportState() {
        return SaeTrainerState.encode(config, params, adam, statistics, steps, progress());
    }

    /**
     * {@link #exportState()} without the drift-window decoders, which change only when a window closes (see
     * {@link #exportDriftBoundaries}, {@link #driftBoundariesVersion}): what a checkpoint needs to write each time.
     */
    public byte[] exportStateWithoutBoundaries() {
        return SaeTrainerState.encode(config, params, adam, statistics, steps, progress(), false);
    }

    /** The drift-window decoders (K of [d_sae, d_in]) that {@link #exportStateWithoutBoundaries} leaves out. */
    public byte[] exportDriftBoundaries() {
        return SaeTrainerState.encodeBoundaries(config, drift.state());
    }

    /** Changes exactly when the drift-window decoders do: -1 before preparation, then the window index. */
    public long driftBoundariesVersion() {
        return prepared ? drift.report().windowIndex() : -1;
    }

    private SaeTrainerState.Progress progress() {
        return new SaeTrainerState.Progress(prepared, activationScale, resampledTotal, drift.state());
    }

    /**
     * Native arrays this trainer holds between steps: parameters, buffers and two Adam moments per
     * trainable parameter (12 for ReLU + L1 and TopK, 13 for BatchTopK, 15 for JumpReLU).
     */
    public int liveArrays() {
        return manager.getManagedArrays().size();
    }

    @Override
    public void close() {
        manager.close();
    }
}
