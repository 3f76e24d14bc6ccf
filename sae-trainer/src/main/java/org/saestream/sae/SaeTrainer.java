package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.FloatBuffer;
import java.util.Optional;

/**
 * Trains one SAE online, one batch per {@link #step}. Each step: forward, loss and hand-written
 * gradients ({@link SaeArchitecture}, which sees which latents are dead before the batch), remove the
 * decoder gradient parallel to each decoder row, Adam, renormalise decoder rows to unit length,
 * update the architecture's buffers, count which latents fired.
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

    /** A freshly initialised SAE (see {@link SaeParameters#initial}). */
    public SaeTrainer(SaeConfig config, NDManager parent) {
        this.config = config;
        this.architecture = config.architecture();
        this.manager = parent.newSubManager();
        try {
            this.params = SaeParameters.initial(manager, config.dIn(), config.dSae(), config.seed(), architecture);
            this.adam = AdamOptimizer.create(manager, config);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
        this.statistics = new FeatureStatistics(config.dSae(), config.deadWindowTokens());
        this.steps = 0;
    }

    private SaeTrainer(SaeConfig config, NDManager parent, TrainerState.Decoded state) {
        this.config = config;
        this.architecture = config.architecture();
        this.manager = parent.newSubManager();
        try {
            this.params = SaeParameters.fromFloats(manager, config.dIn(), config.dSae(), architecture,
                    state.parameters());
            this.adam = AdamOptimizer.restore(manager, config, state.firstMoments(), state.secondMoments(),
                    state.adamStep());
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
        this.statistics = state.statistics();
        this.steps = state.steps();
    }

    /**
     * A trainer continuing from {@link #exportState()} bytes. The config must describe the same
     * architecture and shapes; its optimizer settings (learning rate, betas) may differ and apply from
     * the next step.
     */
    public static SaeTrainer restore(SaeConfig config, byte[] state, NDManager parent) {
        return new SaeTrainer(config, parent, TrainerState.decode(config, state));
    }

    /**
     * Trains on the first {@code rows} tokens of {@code batch}, row-major [rows, dIn]
     * (1 <= rows <= batchSize; batch may be longer than rows * dIn). Throws IllegalStateException,
     * leaving the state unchanged, if the loss is not finite.
     */
    public StepResult step(float[] batch, int rows) {
        int dIn = config.dIn();
        if (rows < 1 || rows > config.batchSize()) {
            throw new IllegalArgumentException("rows must be in [1, batchSize=" + config.batchSize() + "], got " + rows);
        }
        if (batch.length < rows * dIn) {
            throw new IllegalArgumentException("batch holds " + batch.length + " floats but " + rows + " rows of dIn "
                    + dIn + " need " + rows * dIn);
        }
        try (NDManager stepManager = manager.newSubManager(); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray x = stepManager.create(FloatBuffer.wrap(batch, 0, rows * dIn), new Shape(rows, dIn)); // [B, dIn]
            var context = new SaeArchitecture.TrainingContext(steps, statistics.deadLatents());
            SaeArchitecture.TrainingPass pass = architecture.trainingPass(params, x, context);

            NDArray firesPerLatent = pass.firesPerLatent();                                           // [dSae]
            NDArray sumSquaredError = pass.mse().duplicate().muli(rows);                              // []
            NDArray totalVariance = x.sub(x.mean(new int[]{0})).square().sum();                       // []
            NDArray activeCount = firesPerLatent.sum();                                               // []
            double[] scalars = NDArrays.stack(new NDList(pass.mse(), pass.sparsityPenalty(), pass.loss(),
                    sumSquaredError, totalVariance, activeCount)).toType(DataType.FLOAT64, false).toDoubleArray();
            double loss = scalars[2];
            if (!Double.isFinite(loss)) {
                throw new IllegalStateException("SAE " + config.saeId() + ": loss is " + loss + " at step " + (steps + 1)
                        + " (mse " + scalars[0] + ", sparsity " + scalars[1] + "); non-finite input or divergence,"
                        + " state left at step " + steps);
            }

            DecoderConstraint.removeParallelGradient(params.wDec(), pass.gradients().get(SaeParameters.W_DEC));
            adam.update(params, pass.gradients());
            DecoderConstraint.normalizeRows(params.wDec());
            pass.bufferUpdates().forEach(params::updateBuffer);
            statistics.record(rows, firesPerLatent.toFloatArray());
            steps++;
            double fvu = scalars[4] > 0 ? scalars[3] / scalars[4] : Double.NaN;
            return new StepResult(steps, rows, scalars[0], fvu, scalars[5] / rows, scalars[1], loss);
        }
    }

    /**
     * The latents the SAE assigns at inference ({@link SaeArchitecture#forward}; BatchTopK uses its
     * threshold) to the first {@code rows} tokens of {@code batch}, row-major [rows, dSae]. No state changes.
     */
    public float[] encode(float[] batch, int rows) {
        int dIn = config.dIn();
        if (rows < 1 || batch.length < (long) rows * dIn) {
            throw new IllegalArgumentException("need 1 <= rows and rows * dIn <= " + batch.length + ", got rows " + rows);
        }
        try (NDManager stepManager = manager.newSubManager(); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray x = stepManager.create(FloatBuffer.wrap(batch, 0, rows * dIn), new Shape(rows, dIn)); // [B, dIn]
            return architecture.forward(params, x).latents().toFloatArray();
        }
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

    /** Copy of W_dec, row-major [dSae, dIn], rows of unit length. */
    public float[] decoder() {
        return params.toFloats(SaeParameters.W_DEC);
    }

    /** Copy of W_enc, row-major [dIn, dSae]. */
    public float[] encoder() {
        return params.toFloats(SaeParameters.W_ENC);
    }

    /** Copy of b_enc [dSae]. */
    public float[] encoderBias() {
        return params.toFloats(SaeParameters.B_ENC);
    }

    /** Copy of b_dec [dIn]. */
    public float[] decoderBias() {
        return params.toFloats(SaeParameters.B_DEC);
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

    /** Parameters, Adam moments and step count, statistics and counters as safetensors bytes. */
    public byte[] exportState() {
        return TrainerState.encode(config, params, adam, statistics, steps);
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
