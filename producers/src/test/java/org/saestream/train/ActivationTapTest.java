package org.saestream.train;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.lm.ForwardRequest;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.TokenBatch;
import org.saestream.records.ActivationBlock;
import org.saestream.records.RecordCodec;
import org.saestream.records.TokenIdentity;
import org.saestream.tensor.DType;
import org.saestream.tensor.TensorCodec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The activation tap of training mode: blocks come from the tapped steps' own forward passes (the weights
 * before that step's update, on that step's batch), one per window and hook, with unique token identities.
 */
class ActivationTapTest {
    private static final String HOOK = "blocks.1.hook_resid_post";

    /** Keeps every block, encoded and decoded again as a consumer would see it. */
    private static final class ListTap implements ActivationTap {
        final List<ActivationBlock> blocks = new ArrayList<>();
        private final int every;

        ListTap(int every) {
            this.every = every;
        }

        @Override
        public List<String> hooks() {
            return List.of(HOOK);
        }

        @Override
        public int everySteps() {
            return every;
        }

        @Override
        public void publish(ActivationBlock block) {
            blocks.add(RecordCodec.ACTIVATION_BLOCK.decode(RecordCodec.ACTIVATION_BLOCK.encode(block)));
        }
    }

    @Test
    void tappedStepsPublishTheirOwnForwardActivations(@TempDir Path dir) throws Exception {
        Path corpus = TrainFixtures.corpus(dir);
        TrainConfig config = TrainConfig.read(TrainFixtures.config(dir, "{\"steps\": 3, \"publish_gradients\": false, \"schedule\": {\"warmup_steps\": 1}}"));
        ListTap tap = new ListTap(2);
        TrainingRun.Options options = new TrainingRun.Options("tap", dir.resolve("out"), List.of(corpus), Optional.empty(),
                Device.cpu());
        try (TrainingRun run = TrainingRun.prepare(config, options, GradientSink.NONE)) {
            run.tapActivations(tap);
            run.train(r -> { });
        }
        assertEquals(4, tap.blocks.size(), "step 2 only (every 2 of 3 steps): one block per window of the batch of 4");
        Set<Long> identities = new HashSet<>();
        for (ActivationBlock b : tap.blocks) {
            assertEquals("step-000000002", b.getShardId());
            assertEquals(HOOK, b.getHookName());
            assertEquals(32, b.getTokenCount());
            assertEquals(32, b.getWidth());
            assertEquals(32, b.getTokenIds().size());
            long doc = TokenIdentity.documentKey(b.getShardId(), b.getDocumentId());
            for (int t = 0; t < b.getTokenCount(); t++) {
                assertTrue(identities.add(TokenIdentity.hashInDocument(doc, b.getFirstTokenPosition() + t)),
                        "every tapped token has its own identity");
            }
        }

        // the weights after step 1 (its warm-up rate does not depend on the run's length) on the same windows
        TrainingRun.Options one = new TrainingRun.Options("tap", dir.resolve("one"), List.of(corpus), Optional.empty(),
                Device.cpu());
        try (TrainingRun run = TrainingRun.prepare(config.withSteps(1L), one, GradientSink.NONE)) {
            run.train(r -> { });
            LanguageModel model = run.model();
            for (ActivationBlock b : tap.blocks) {
                long[] ids = b.getTokenIds().stream().mapToLong(Integer::longValue).toArray();
                float[] expected;
                try (NDManager m = NDManager.newBaseManager()) {
                    expected = model.forward(m, TokenBatch.of(ids), ForwardRequest.of(HOOK)).activation(HOOK).toFloatArray();
                }
                float[] published = TensorCodec.decode(b.getData(), DType.F32);
                assertEquals(expected.length, published.length);
                double worst = 0;
                for (int i = 0; i < expected.length; i++) {
                    worst = Math.max(worst, Math.abs(expected[i] - published[i]));
                }
                assertTrue(worst < 1e-4, "block " + b.getDocumentId() + " differs from the pre-update forward by " + worst);
            }
        }
    }
}
