package org.saestream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.saestream.lm.ForwardRequest;
import org.saestream.lm.ForwardResult;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.ModelFamily;
import org.saestream.lm.TokenBatch;
import org.saestream.records.GradientStep;
import org.saestream.tensor.DType;
import org.saestream.tensor.TensorCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The training loop: per optimizer step, the step's batch, a forward and backward to every parameter,
 * the gradient norms, (when publishing) the sketch of the unclipped gradient, clipping, the AdamW update,
 * and one GradientStep record; checkpoints every {@code checkpoint.every} steps and the final model at
 * the end. Its parts are separate classes: {@link TrainingData} (batches), {@link LrSchedule},
 * {@link AdamW}, {@link GradientSketch}, {@link Checkpointer}, a {@link GradientSink}.
 */
public final class LmTrainer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LmTrainer.class);
    private static final ForwardRequest REQUEST = ForwardRequest.of().withParameterGradients();
    private static final double EMA_DECAY = 0.95;
    /** Non-finite steps in a row after which the run is taken to have diverged. */
    static final int MAX_CONSECUTIVE_SKIPS = 3;

    /** Told after every step and every checkpoint. */
    public interface Listener {
        void onStep(StepReport report);

        default void onCheckpoint(Path directory, long step) {
        }
    }

    /**
     * What a run (or the part of it this process ran) did.
     *
     * @param steps          the last step taken
     * @param tokensSeen     tokens consumed up to it (across resumes)
     * @param firstLoss      loss of the first step this session
     * @param lastLoss       loss of the last step
     * @param lastLossEma    the moving average at the last step
     * @param sessionSeconds wall time of this session's steps
     * @param sessionTokens  tokens this session trained on
     * @param skippedSteps   steps skipped for a non-finite loss or gradient (across resumes)
     * @param timings        this session's time by phase, summed over its steps
     * @param output         where the final model was written (null without a checkpointer)
     */
    public record Result(long steps, long tokensSeen, double firstLoss, double lastLoss, double lastLossEma,
                         double sessionSeconds, long sessionTokens, long skippedSteps, StepReport.StepTimings timings,
                         Path output) {
        public double tokensPerSecond() {
            return sessionSeconds > 0 ? sessionTokens / sessionSeconds : 0;
        }
    }

    private final TrainConfig config;
    private final LanguageModel model;
    private final TrainingData data;
    private final GradientSink sink;
    private final Checkpointer checkpointer;
    private final String runId;
    private final String modelId;
    private final LrSchedule schedule;
    private final AdamW optimizer;
    private final GradientSketch sketch;
    private final List<String> tensorNames;
    private final long parameterCount;

    private ActivationTap tap;
    private ForwardRequest tappedRequest;
    private StepObserver observer;
    /** the last step's gradient sketch (null when skipped or not sketched), for the observer */
    private float[] lastSketch;
    private long step;
    private long tokensSeen;
    private double emaSum;
    private double emaWeight;
    private double elapsedBefore;
    private long skippedSteps;
    private int consecutiveSkips;

    /**
     * @param checkpointer where checkpoints and the final model go; null writes none (benchmarks)
     * @param runId        the run (GradientStep.run_id)
     * @param modelId      the model (GradientStep.model_id)
     */
    public LmTrainer(TrainConfig config, LanguageModel model, TrainingData data, GradientSink sink, Checkpointer checkpointer,
                   String runId, String modelId) {
        this.config = config;
        this.model = model;
        this.data = data;
        this.sink = sink;
        this.checkpointer = checkpointer;
        this.runId = runId;
        this.modelId = modelId;
        check(config, model, data);
        this.schedule = LrSchedule.of(config);
        this.tensorNames = List.copyOf(model.parameters().names());
        this.parameterCount = ModelInit.parameterCount(model.family());
        // only a run that publishes needs the sketch (and only then can a full sketch be too large)
        this.sketch = sink.enabled() ? GradientSketch.of(config.sketch().method(), config.sketch().width(),
                config.sketch().seed(), parameterCount) : null;
        if (sketch instanceof GradientSketch.Gaussian g && g.costPerSketch() > 2e9) {
            LOG.warn("Gaussian sketch of width {} over {} parameters: {} multiply-adds per step (seconds each);"
                            + " count_sketch costs one add per parameter", g.width(), parameterCount,
                    String.format("%.1e", g.costPerSketch()));
        }
        this.optimizer = new AdamW(model.parameters(), config.optimizer());
    }

    private static void check(TrainConfig config, LanguageModel model, TrainingData data) {
        ModelFamily family = model.family();
        int vocab = family.dims().vocabSize();
        if (data.summary().maxTokenId() >= vocab) {
            throw new IllegalArgumentException("the tokenizer " + config.tokenizer() + " gives token id "
                    + data.summary().maxTokenId() + ", outside the model's vocab_size " + vocab
                    + " (model.model_config.vocab_size, or the init_from model's config.json)");
        }
        if (data.contextLength() > family.maxSequenceLength()) {
            throw new IllegalArgumentException("'data.context_length' " + data.contextLength() + " is longer than the "
                    + family.maxSequenceLength() + " positions of this " + family.modelType() + " model");
        }
        if (data.windowCount() < config.data().batchSize()) {
            throw new IllegalArgumentException("the corpus gives " + data.windowCount() + " windows of "
                    + data.contextLength() + " tokens, fewer than one batch ('data.batch_size' " + config.data().batchSize()
                    + ")");
        }
    }

    /** Tells {@code observer} after every step (one observer; null for none). */
    public void observe(StepObserver observer) {
        this.observer = observer;
    }

    /** The map of the run's gradient sketches, when it publishes them. */
    public java.util.Optional<GradientSketch> gradientSketch() {
        return java.util.Optional.ofNullable(sketch);
    }

    /** Also publish activations at the tap's hooks from the forward pass of every tapped step. */
    public void tapActivations(ActivationTap tap) {
        this.tap = tap;
        this.tappedRequest = ForwardRequest.of(tap.hooks().toArray(String[]::new)).withParameterGradients();
    }

    /** Continues a run from one of its checkpoints: the model must have been loaded from the same directory. */
    public void resumeFrom(Path checkpoint) {
        LmTrainerState state = LmTrainerState.read(checkpoint);
        TrainConfig.DataConfig d = config.data();
        if (state.windows() != data.windowCount() || state.contextLength() != d.contextLength()
                || state.batchSize() != d.batchSize() || state.seed() != config.seed()) {
            throw new IllegalArgumentException(checkpoint + ": was trained on " + state.windows() + " windows of "
                    + state.contextLength() + " tokens, batch " + state.batchSize() + ", seed " + state.seed()
                    + "; this run has " + data.windowCount() + " windows of " + d.contextLength() + ", batch "
                    + d.batchSize() + ", seed " + config.seed() + ": a resumed run needs the same corpus and data settings");
        }
        if (state.step() >= config.steps()) {
            throw new IllegalArgumentException(checkpoint + ": is at step " + state.step() + ", the run has "
                    + config.steps() + " steps; nothing to resume (raise 'steps' or --steps)");
        }
        var moments = Checkpointer.readOptimizer(checkpoint);
        // AdamW's own count (skipped steps took no update); older files without it: the trainer's
        long adamSteps = Long.parseLong(moments.metadata().getOrDefault("step", Long.toString(state.step())));
        optimizer.load(moments.tensors(), adamSteps, checkpoint.toString());
        step = state.step();
        skippedSteps = state.skippedSteps();
        tokensSeen = state.tokensSeen();
        elapsedBefore = state.elapsedSeconds();
        // the bias-corrected average after n steps divides by 1 - decay^n: undo that to continue it
        emaWeight = 1 - Math.pow(EMA_DECAY, step);
        emaSum = state.lossEma() * emaWeight;
        LOG.info("resuming at step {} of {} ({} tokens seen) from {}", step, config.steps(), tokensSeen, checkpoint);
    }

    /** Runs the remaining steps; returns what this session did. */
    public Result train(Listener listener) {
        long start = System.nanoTime();
        long sessionTokens = 0;
        long sessionSteps = 0;
        double firstLoss = Double.NaN;
        double lastLoss = Double.NaN;
        StepReport.StepTimings total = StepReport.StepTimings.ZERO;
        int every = config.checkpoint().every();
        while (step < config.steps()) {
            StepReport report = step(start, sessionTokens, sessionSteps);
            sessionTokens = report.sessionTokens();
            sessionSteps = report.sessionSteps();
            total = total.plus(report.timings());
            if (!report.skipped()) {
                if (Double.isNaN(firstLoss)) {
                    firstLoss = report.loss();
                }
                lastLoss = report.loss();
            }
            listener.onStep(report);
            if (observer != null) {
                observer.afterStep(report, report.skipped() ? null : lastSketch);
            }
            if (checkpointer != null && every > 0 && step % every == 0 && step < config.steps()) {
                sink.flush();
                if (tap != null) {
                    tap.flush();
                }
                Path dir = checkpointer.checkpoint(model, optimizer, state(lastLoss, start));
                listener.onCheckpoint(dir, step);
            }
        }
        sink.flush();
        if (tap != null) {
            tap.flush();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Path output = null;
        if (checkpointer != null) {
            output = checkpointer.finalModel(model, optimizer, state(lastLoss, start));
            listener.onCheckpoint(output, step);
        }
        return new Result(step, tokensSeen, firstLoss, lastLoss, ema(), seconds, sessionTokens, skippedSteps, total,
                output);
    }

    /**
     * One ActivationBlock per window and hook. A training window has no document of its own: the block
     * names the step as its shard and the window's place in the batch as its document, which keeps
     * every token's identity unique across the run.
     */
    private void publishActivations(ForwardResult result, TokenBatch batch) {
        String shard = String.format(java.util.Locale.ROOT, "step-%09d", step);
        for (String hook : tap.hooks()) {
            NDArray a = result.activation(hook);
            int width = (int) a.getShape().get(2);
            int length = (int) a.getShape().get(1);
            float[] all = a.toFloatArray();
            for (int b = 0; b < batch.batchSize(); b++) {
                int rows = batch.lengths()[b];
                float[] rowsData = java.util.Arrays.copyOfRange(all, b * length * width, (b * length + rows) * width);
                List<Integer> ids = new ArrayList<>(rows);
                for (int t = 0; t < rows; t++) {
                    ids.add((int) batch.ids()[b][t]);
                }
                tap.publish(org.saestream.records.ActivationBlock.newBuilder().setRunId(runId).setModelId(modelId)
                        .setHookName(hook).setShardId(shard).setDocumentId(b).setSequenceIndex(0).setFirstTokenPosition(0)
                        .setTokenCount(rows).setWidth(width).setDtype(org.saestream.records.TensorDtype.F32)
                        .setTokenIds(ids).setData(ByteBuffer.wrap(TensorCodec.encode(rowsData, DType.F32)))
                        .setProducerId("train-lm").setTimeMs(Instant.now())
                        .setContextSize(config.data().contextLength()).build());
            }
        }
    }

    private LmTrainerState state(double lastLoss, long sessionStart) {
        double elapsed = elapsedBefore + (System.nanoTime() - sessionStart) / 1e9;
        return new LmTrainerState(step, config.steps(), tokensSeen, lastLoss, ema(), schedule.at(Math.max(1, step)), elapsed,
                skippedSteps, data.windowCount(), config.data().contextLength(), config.data().batchSize(), config.seed());
    }

    private double ema() {
        return emaWeight > 0 ? emaSum / emaWeight : Double.NaN;
    }

    private StepReport step(long sessionStart, long sessionTokens, long sessionSteps) {
        long next = step + 1;
        TokenBatch batch = data.batch(next, config.data().batchSize(), config.seed());
        long batchTokens = 0;
        for (int len : batch.lengths()) {
            batchTokens += len;
        }
        double lr = schedule.at(next);
        long t0 = System.nanoTime();
        try (NDManager work = NDManager.newBaseManager(model.device());
             ForwardResult result = model.forward(work, batch, tap != null && tap.taps(next) ? tappedRequest : REQUEST)) {
            double loss = result.loss().orElseThrow();
            long t1 = System.nanoTime();
            Map<String, NDArray> gradients = result.parameterGradients();
            double[] norms = new double[tensorNames.size()];
            double sumSquares = 0;
            for (int i = 0; i < norms.length; i++) {
                NDArray g = gradients.get(tensorNames.get(i));
                try (NDArray squares = g.square(); NDArray sum = squares.sum()) {
                    double s = sum.getFloat();
                    norms[i] = Math.sqrt(s);
                    sumSquares += s;
                }
            }
            double norm = Math.sqrt(sumSquares);
            if (!Double.isFinite(loss) || !Double.isFinite(norm)) {
                return skip(next, loss, norm, lr, batchTokens, sessionStart, sessionTokens, sessionSteps, t0, t1);
            }
            consecutiveSkips = 0;
            long t2 = System.nanoTime();
            float[] sketched = null;
            lastSketch = null;
            if (sketch != null) {
                double[] acc = new double[sketch.width()];
                long offset = 0;
                for (String name : tensorNames) {
                    float[] values = gradients.get(name).toFloatArray();
                    sketch.accumulate(values, offset, acc);
                    offset += values.length;
                }
                sketched = GradientSketch.toFloats(acc);
            }
            long t3 = System.nanoTime();
            double clip = config.optimizer().clipNorm();
            // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1
            double scale = clip > 0 ? Math.min(1.0, clip / (norm + 1e-6)) : 1.0;
            boolean clipped = scale < 1.0;
            optimizer.step(model.parameters(), gradients, lr, scale);
            long t4 = System.nanoTime();
            step = next;
            tokensSeen += batchTokens;
            emaSum = EMA_DECAY * emaSum + (1 - EMA_DECAY) * loss;
            emaWeight = EMA_DECAY * emaWeight + (1 - EMA_DECAY);
            if (sketched != null) {
                sink.publish(record(loss, lr, norm, clipped, norms, sketched));
                lastSketch = sketched;
            }
            if (tap != null && tap.taps(step)) {
                publishActivations(result, batch);
            }
            long t5 = System.nanoTime();
            StepReport.StepTimings timings = new StepReport.StepTimings((t1 - t0) / 1e9, (t2 - t1) / 1e9,
                    (t3 - t2) / 1e9, (t4 - t3) / 1e9, (t5 - t4) / 1e9);
            return new StepReport(step, config.steps(), tokensSeen, loss, ema(), lr, norm, clipped, false,
                    (System.nanoTime() - sessionStart) / 1e9, sessionTokens + batchTokens, sessionSteps + 1, timings);
        }
    }

    /**
     * A step whose loss or gradient is not finite: no update and no record (the batch counts as consumed,
     * so the data order stays that of the step number). A few in a row mean the run has diverged: it stops.
     */
    private StepReport skip(long next, double loss, double norm, double lr, long batchTokens, long sessionStart,
                            long sessionTokens, long sessionSteps, long t0, long t1) {
        consecutiveSkips++;
        skippedSteps++;
        if (consecutiveSkips >= MAX_CONSECUTIVE_SKIPS) {
            throw new IllegalStateException("step " + next + ": the loss is " + loss + " and the gradient norm " + norm
                    + " (learning rate " + lr + "), the " + consecutiveSkips + "th non-finite step in a row; the run"
                    + " diverged: lower 'optimizer.lr', lengthen the warm-up or clip harder");
        }
        LOG.warn("step {}: loss {} and gradient norm {} are not all finite; step skipped (no update, no record), {} "
                + "skipped in this run", next, loss, norm, skippedSteps);
        step = next;
        tokensSeen += batchTokens;
        long now = System.nanoTime();
        StepReport.StepTimings timings = new StepReport.StepTimings((t1 - t0) / 1e9, (now - t1) / 1e9, 0, 0, 0);
        return new StepReport(step, config.steps(), tokensSeen, loss, ema(), lr, norm, false, true,
                (now - sessionStart) / 1e9, sessionTokens + batchTokens, sessionSteps + 1, timings);
    }

    /** Steps skipped for a non-finite loss or gradient, across resumes. */
    public long skippedSteps() {
        return skippedSteps;
    }

    private GradientStep record(double loss, double lr, double norm, boolean clipped, double[] norms, float[] sketched) {
        List<Double> tensorNorms = new ArrayList<>(norms.length);
        for (double n : norms) {
            tensorNorms.add(n);
        }
        return GradientStep.newBuilder()
                .setRunId(runId).setModelId(modelId).setStep(step).setTokensSeen(tokensSeen).setLoss(loss)
                .setLearningRate(lr).setSketchMethod(sketch.method()).setSketchSeed(sketch.seed())
                .setSketchWidth(sketch.width()).setParameterCount(parameterCount)
                .setSketch(ByteBuffer.wrap(TensorCodec.encode(sketched, DType.F32)))
                .setGradientNorm(norm).setClipped(clipped).setTensorNames(tensorNames).setTensorNorms(tensorNorms)
                .setTimeMs(Instant.now()).build();
    }

    /** The optimizer steps taken so far. */
    public long step() {
        return step;
    }

    public long parameterCount() {
        return parameterCount;
    }

    @Override
    public void close() {
        optimizer.close();
    }
}
