package org.saestream.jobs;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.junit.jupiter.api.Test;
import org.saestream.flink.InputRecord;
import org.saestream.flink.OutboundRecord;
import org.saestream.records.ActivationBlock;
import org.saestream.records.FeatureExample;
import org.saestream.records.FeatureExamples;
import org.saestream.records.FeatureTopK;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeSnapshot;
import org.saestream.records.Topics;
import org.saestream.sae.SaeConfig;
import org.saestream.tensor.Safetensors;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Feature examples through the job's operators (router → training on RocksDB state): one record set per
 * closed window, examples that point at their source blocks, and activations that the published
 * snapshots reproduce.
 */
class FeatureExamplesJobTest {
    private static final int WIDTH = 8;
    private static final int ROWS = 48;
    private static final int DOCS = 16;
    private static final int D_SAE = 32;
    private static final int CHUNK = 2048;
    /** k 4, 3 tokens before, 2 after, every second block */
    private static final FeatureExampleOptions EXAMPLES = new FeatureExampleOptions(4, 3, 2, 2);

    /**
     * Batches of 32 from a buffer of 128 tokens: every drain takes 64 tokens (2 steps), and a window is
     * 64 tokens, so every drain closes exactly one window.
     */
    private static SaeJobConfig config(long windowTokens, int mixingTokens) {
        SaeConfig sae = SaeTrainingFunctionTest.sae("a", 32, 7);
        sae = sae.withOptions(sae.options().withDrift(windowTokens, 2));
        return SaeJobConfig.single("fx", TestBlocks.TOPIC, "h", sae, mixingTokens).withSnapshotChunkBytes(CHUNK)
                .withFeatureExamples(EXAMPLES);
    }

    private static long firstPosition(long doc) {
        return doc * 1000 + 5;
    }

    private static int[] tokenIds(long doc) {
        SplittableRandom r = new SplittableRandom(doc + 77);
        int[] ids = new int[ROWS];
        for (int i = 0; i < ROWS; i++) {
            ids[i] = r.nextInt(50_000);
        }
        return ids;
    }

    /** Document {@code doc} at offset {@code doc}, with token ids and a non-zero first position. */
    private static InputRecord block(long doc) {
        ActivationBlock b = TestBlocks.block(doc, ROWS, WIDTH, TestBlocks.randomRows(doc, ROWS, WIDTH), "h");
        List<Integer> ids = new ArrayList<>();
        for (int id : tokenIds(doc)) {
            ids.add(id);
        }
        b = ActivationBlock.newBuilder(b).setTokenIds(ids).setFirstTokenPosition(firstPosition(doc))
                .setSequenceIndex((int) doc % 3).setModelId("m-tok").build();
        return TestBlocks.record(doc, RecordCodec.ACTIVATION_BLOCK.encode(b));
    }

    private static List<OutboundRecord> run(SaeJobConfig config) throws Exception {
        try (JobHarness job = new JobHarness(config, null)) {
            for (int doc = 0; doc < DOCS; doc++) {
                job.process(block(doc));
            }
            job.endOfInput();
            return new ArrayList<>(job.trainingOutput());
        }
    }

    /** window_index → its records in order; checks each record's size and that they cover every feature once. */
    private static Map<Long, List<FeatureExamples>> byWindow(List<OutboundRecord> out) {
        Map<Long, List<FeatureExamples>> windows = new TreeMap<>();
        for (OutboundRecord r : out) {
            if (r.topic.equals(Topics.SAE_FEATURES)) {
                assertTrue(r.value.length <= CHUNK, "a record of " + r.value.length + " bytes");
                assertEquals("fx:a", new String(r.key, StandardCharsets.UTF_8));
                FeatureExamples fx = RecordCodec.FEATURE_EXAMPLES.decode(r.value);
                windows.computeIfAbsent(fx.getWindowIndex(), w -> new ArrayList<>()).add(fx);
            }
        }
        for (var e : windows.entrySet()) {
            int next = 0;
            for (FeatureExamples fx : e.getValue()) {
                assertEquals(next, fx.getFirstFeature(), "window " + e.getKey());
                assertEquals(D_SAE, fx.getDSae());
                assertEquals(e.getValue().get(0).getBlocksSampled(), fx.getBlocksSampled());
                assertEquals(fx.getBlocksSampled() > 0 ? "m-tok" : "test-model", fx.getModelId().toString(),
                        "the blocks' model; the SAE's without blocks");
                for (FeatureTopK f : fx.getFeatures()) {
                    assertEquals(next++, f.getFeature());
                }
            }
            assertEquals(D_SAE, next, "window " + e.getKey() + " covers every feature");
        }
        return windows;
    }

    /**
     * What every example must be by itself: from a sampled block, its token the strongest of its context
     * (the earliest on ties), the context cut from the block's own tokens and clipped to the block.
     */
    private static void checkExample(FeatureExample e, String where) {
        long doc = e.getSourceOffset();
        assertEquals(TestBlocks.TOPIC, e.getSourceTopic().toString());
        assertEquals(0, doc % EXAMPLES.everyBlocks(), where + ": only every second block is sampled");
        assertEquals(doc, e.getDocumentId());
        assertEquals(TestBlocks.SHARD, e.getShardId().toString());
        assertEquals((int) doc % 3, e.getSequenceIndex());
        int row = (int) (e.getPosition() - firstPosition(doc));
        int from = (int) (e.getContextStart() - firstPosition(doc));
        assertTrue(row >= 0 && row < ROWS, where + ": row " + row);
        assertEquals(Math.max(0, row - 3), from, where + ": context start");
        int to = Math.min(ROWS - 1, row + 2);
        assertEquals(to - from + 1, e.getActivations().size(), where + ": context length");
        int[] ids = tokenIds(doc);
        for (int i = 0; i < e.getTokenIds().size(); i++) {
            assertEquals(ids[from + i], (int) e.getTokenIds().get(i), where + ": token id " + i);
        }
        assertEquals(to - from + 1, e.getTokenIds().size());
        List<Float> acts = e.getActivations();
        assertEquals(e.getActivation(), acts.get(row - from), 0f, where + ": the activation at the example's token");
        for (int i = 0; i < acts.size(); i++) {
            float a = acts.get(i);
            assertTrue(from + i < row ? a < e.getActivation() : a <= e.getActivation(),
                    where + ": context token " + i + " (" + a + ") beats the example (" + e.getActivation() + ")");
        }
        assertTrue(e.getActivation() > 0, where);
    }

    private static void checkRanking(FeatureTopK f, String where) {
        List<FeatureExample> ex = f.getExamples();
        assertTrue(ex.size() <= EXAMPLES.k(), where);
        for (int i = 1; i < ex.size(); i++) {
            assertTrue(ex.get(i - 1).getActivation() >= ex.get(i).getActivation(), where + ": strongest first");
            for (int j = 0; j < i; j++) {
                assertTrue(ex.get(j).getSourceOffset() != ex.get(i).getSourceOffset(), where + ": one example per block");
            }
        }
    }

    /** ReLU latents of a source block with the weights of a snapshot (SAELens layout; activation scale 1). */
    private static float[] encode(Map<String, byte[]> snapshot, long doc) {
        var tensors = Safetensors.read(snapshot.get("sae_weights.safetensors"), "weights").tensors();
        float[] wEnc = tensors.get("W_enc").toFloats();    // [dIn, dSae]
        float[] bEnc = tensors.get("b_enc").toFloats();    // [dSae]
        float[] bDec = tensors.get("b_dec").toFloats();    // [dIn]
        float[] x = TestBlocks.randomRows(doc, ROWS, WIDTH);
        float[] latents = new float[ROWS * D_SAE];
        for (int r = 0; r < ROWS; r++) {
            for (int f = 0; f < D_SAE; f++) {
                double pre = bEnc[f];
                for (int i = 0; i < WIDTH; i++) {
                    pre += (x[r * WIDTH + i] - bDec[i]) * wEnc[i * D_SAE + f];
                }
                latents[r * D_SAE + f] = (float) Math.max(0, pre);
            }
        }
        return latents;
    }

    @Test
    void eachClosedWindowPublishesTheStrongestContextsAsTheSaeEncodedThem() throws Exception {
        List<OutboundRecord> out = run(config(64, 128));
        Map<Long, List<FeatureExamples>> windows = byWindow(out);
        Map<Long, Map<String, byte[]>> snapshots = EnsembleTrainingTest.snapshots(out, "a");
        long tokens = (long) DOCS * ROWS;
        long closed = tokens / 64;
        List<Long> expectedWindows = new ArrayList<>();
        for (long w = 1; w <= closed; w++) {
            expectedWindows.add(w);
        }
        assertEquals(expectedWindows, new ArrayList<>(windows.keySet()),
                "one record set per closed window; the last window took everything, so none for the end");

        // each window's records follow the snapshot taken when it closed
        int lastSnapshot = -1;
        for (int i = 0; i < out.size(); i++) {
            OutboundRecord r = out.get(i);
            if (r.topic.equals(Topics.SAE_SNAPSHOTS)) {
                lastSnapshot = i;
            } else if (r.topic.equals(Topics.SAE_FEATURES)) {
                FeatureExamples fx = RecordCodec.FEATURE_EXAMPLES.decode(r.value);
                assertTrue(lastSnapshot >= 0, "a snapshot before window " + fx.getWindowIndex());
                SaeSnapshot s = RecordCodec.SAE_SNAPSHOT.decode(out.get(lastSnapshot).value);
                assertEquals(fx.getTokensSeen(), s.getTokensSeen(), "window " + fx.getWindowIndex());
                assertEquals(64 * fx.getWindowIndex(), fx.getTokensSeen());
            }
        }

        long sampled = 0;
        int examples = 0;
        int checkedAgainstSnapshot = 0;
        for (var e : windows.entrySet()) {
            long w = e.getKey();
            sampled += e.getValue().get(0).getBlocksSampled();
            // the blocks of window w were encoded at the start of the drain that closed it: by the SAE of
            // the previous window's snapshot (window 1: the SAE as prepared, which no snapshot shows)
            Map<String, byte[]> reference = snapshots.get(64 * (w - 1));
            for (FeatureExamples fx : e.getValue()) {
                for (FeatureTopK f : fx.getFeatures()) {
                    String where = "window " + w + ", feature " + f.getFeature();
                    checkRanking(f, where);
                    for (FeatureExample ex : f.getExamples()) {
                        checkExample(ex, where);
                        examples++;
                        if (reference == null) {
                            continue;
                        }
                        float[] latents = encode(reference, ex.getSourceOffset());
                        int feature = f.getFeature();
                        int row = (int) (ex.getPosition() - firstPosition(ex.getSourceOffset()));
                        int from = (int) (ex.getContextStart() - firstPosition(ex.getSourceOffset()));
                        float max = 0;
                        for (int r = 0; r < ROWS; r++) {
                            max = Math.max(max, latents[r * D_SAE + feature]);
                        }
                        assertEquals(max, ex.getActivation(), 1e-4, where + ": the block's strongest token");
                        for (int i = 0; i < ex.getActivations().size(); i++) {
                            assertEquals(latents[(from + i) * D_SAE + feature], ex.getActivations().get(i), 1e-4,
                                    where + ": context activation " + i);
                        }
                        assertEquals(latents[row * D_SAE + feature], ex.getActivation(), 1e-4, where);
                        checkedAgainstSnapshot++;
                    }
                }
            }
        }
        assertEquals((DOCS + 1) / 2, sampled, "every second accepted block sampled, each in exactly one window");
        assertTrue(examples > 20, "examples were found: " + examples);
        assertTrue(checkedAgainstSnapshot > 10, "examples recomputed from snapshots: " + checkedAgainstSnapshot);
    }

    @Test
    void theEndOfABoundedStreamPublishesWhatNoWindowClosedOn() throws Exception {
        // windows far longer than the stream: everything goes out at the end, as window -1
        List<OutboundRecord> out = run(config(1_000_000, 128));
        Map<Long, List<FeatureExamples>> windows = byWindow(out);
        assertEquals(List.of(-1L), new ArrayList<>(windows.keySet()));
        List<FeatureExamples> end = windows.get(-1L);
        assertEquals((DOCS + 1) / 2, end.get(0).getBlocksSampled());
        assertEquals((long) DOCS * ROWS, end.get(0).getTokensSeen());
        int examples = 0;
        for (FeatureExamples fx : end) {
            for (FeatureTopK f : fx.getFeatures()) {
                checkRanking(f, "feature " + f.getFeature());
                for (FeatureExample ex : f.getExamples()) {
                    checkExample(ex, "feature " + f.getFeature());
                    examples++;
                }
            }
        }
        assertTrue(examples > 20, "examples were found: " + examples);
    }

    @Test
    void pendingBlocksAndTheirOriginsAreFlinkPojosNotKryo() {
        var rows = assertInstanceOf(PojoTypeInfo.class, TypeInformation.of(TokenRows.class));
        assertInstanceOf(PojoTypeInfo.class, rows.getTypeAt(rows.getFieldIndex("origin")),
                "the origin field evolves like a POJO: state written without it restores with null");
    }

    @Test
    void kZeroPublishesNothing() throws Exception {
        List<OutboundRecord> out = run(config(64, 128).withFeatureExamples(FeatureExampleOptions.off()));
        assertTrue(out.stream().noneMatch(r -> r.topic.equals(Topics.SAE_FEATURES)));
        assertTrue(out.stream().anyMatch(r -> r.topic.equals(Topics.SAE_SNAPSHOTS)), "training went on as before");
    }
}
