package org.saestream.jobs;

import org.junit.jupiter.api.Test;
import org.saestream.records.FeatureExample;
import org.saestream.records.FeatureExamples;
import org.saestream.records.FeatureTopK;
import org.saestream.records.RecordCodec;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tracker against a brute-force recount over random blocks. */
class FeatureExampleTrackerTest {
    private static final int D_SAE = 24;
    private static final FeatureExampleOptions OPTIONS = new FeatureExampleOptions(3, 3, 2, 1);
    private static final FeatureExampleTracker.Window WINDOW = new FeatureExampleTracker.Window("exp", "sae", "h",
            "fallback-model", 4, 1000, Instant.ofEpochMilli(1234));

    /** One random block: its origin and its [rows, D_SAE] activations. */
    private record Block(BlockOrigin origin, float[] acts, int rows) {
    }

    /**
     * Blocks of 1 to 10 rows (so contexts are often clipped at both edges) whose activations take few
     * values, so that ties within a block and between blocks are common; some without token ids.
     */
    private static List<Block> blocks(long seed, int count, int maxRows, int dSae) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Long> offsets = new ArrayList<>();
        for (long o = 0; o < count; o++) {
            offsets.add(o * 3 + 100);
        }
        Collections.shuffle(offsets, new Random(seed));
        List<Block> out = new ArrayList<>();
        for (int b = 0; b < count; b++) {
            int rows = 1 + r.nextInt(maxRows);
            float[] acts = new float[rows * dSae];
            for (int i = 0; i < acts.length; i++) {
                double u = r.nextDouble();
                acts[i] = u < 0.25 ? 0.5f * (1 + r.nextInt(4)) : u < 0.3 ? -1f : 0f;
            }
            int[] tokens = new int[r.nextDouble() < 0.2 ? 0 : rows];
            for (int t = 0; t < tokens.length; t++) {
                tokens[t] = r.nextInt(50_000);
            }
            BlockOrigin origin = new BlockOrigin(r.nextBoolean() ? "topic-a" : "topic-b", r.nextInt(3), offsets.get(b),
                    "model-x", "shard-" + b % 4, b, r.nextInt(5), r.nextInt(1000), tokens);
            out.add(new Block(origin, acts, rows));
        }
        return out;
    }

    /** What one example must be, computed from scratch. */
    private record Expected(float activation, String topic, int partition, long offset, long position,
                            long contextStart, List<Integer> tokenIds, List<Float> activations) {
        static Expected of(FeatureExample e) {
            return new Expected(e.getActivation(), e.getSourceTopic().toString(), e.getSourcePartition(),
                    e.getSourceOffset(), e.getPosition(), e.getContextStart(), e.getTokenIds(), e.getActivations());
        }
    }

    /** Per feature: every block's strongest token (> 0, earliest on ties), ranked, the first k. */
    private static List<List<Expected>> bruteForce(List<Block> blocks, int dSae, FeatureExampleOptions o) {
        List<List<Expected>> result = new ArrayList<>();
        for (int f = 0; f < dSae; f++) {
            List<Expected> candidates = new ArrayList<>();
            for (Block b : blocks) {
                int best = -1;
                for (int r = 0; r < b.rows; r++) {
                    float v = b.acts[r * dSae + f];
                    if (v > 0 && (best < 0 || v > b.acts[best * dSae + f])) {
                        best = r;
                    }
                }
                if (best < 0) {
                    continue;
                }
                int from = Math.max(0, best - o.contextBefore());
                int to = Math.min(b.rows - 1, best + o.contextAfter());
                List<Integer> tokens = new ArrayList<>();
                List<Float> acts = new ArrayList<>();
                for (int r = from; r <= to; r++) {
                    if (b.origin.tokenIds.length > 0) {
                        tokens.add(b.origin.tokenIds[r]);
                    }
                    acts.add(b.acts[r * dSae + f]);
                }
                BlockOrigin g = b.origin;
                candidates.add(new Expected(b.acts[best * dSae + f], g.sourceTopic, g.sourcePartition, g.sourceOffset,
                        g.firstTokenPosition + best, g.firstTokenPosition + from, tokens, acts));
            }
            candidates.sort(Comparator.comparing((Expected e) -> -e.activation).thenComparing(Expected::topic)
                    .thenComparingInt(Expected::partition).thenComparingLong(Expected::offset));
            result.add(candidates.subList(0, Math.min(o.k(), candidates.size())));
        }
        return result;
    }

    private static FeatureExampleTracker track(List<Block> blocks, int dSae, FeatureExampleOptions o) {
        FeatureExampleTracker t = new FeatureExampleTracker(dSae, o);
        for (Block b : blocks) {
            t.offer(b.origin, b.acts, b.rows, dSae);
        }
        return t;
    }

    private static List<FeatureTopK> features(List<FeatureExamples> records) {
        List<FeatureTopK> all = new ArrayList<>();
        records.forEach(r -> all.addAll(r.getFeatures()));
        return all;
    }

    @Test
    void topKPerFeatureMatchesABruteForceRecountInAnyOfferOrder() {
        List<Block> blocks = blocks(1, 300, 10, D_SAE);
        List<List<Expected>> expected = bruteForce(blocks, D_SAE, OPTIONS);
        List<FeatureExamples> records = track(blocks, D_SAE, OPTIONS).toRecords(WINDOW, 1 << 24);
        assertEquals(1, records.size(), "one record under a large limit");
        FeatureExamples r = records.get(0);
        assertEquals(0, r.getFirstFeature());
        assertEquals(D_SAE, r.getDSae());
        assertEquals(300, r.getBlocksSampled());
        assertEquals(4, r.getWindowIndex());
        assertEquals("model-x", r.getModelId().toString(), "the blocks' model, not the fallback");
        List<FeatureTopK> features = r.getFeatures();
        assertEquals(D_SAE, features.size());
        int full = 0;
        for (int f = 0; f < D_SAE; f++) {
            assertEquals(f, features.get(f).getFeature());
            List<Expected> got = features.get(f).getExamples().stream().map(Expected::of).toList();
            assertEquals(expected.get(f), got, "feature " + f);
            full += got.size() == OPTIONS.k() ? 1 : 0;
        }
        assertEquals(D_SAE, full, "every feature's top k is full: the recount is not trivially empty");
        assertTrue(expected.stream().flatMap(List::stream).anyMatch(e -> e.activations.size() < 6),
                "contexts clipped at block edges occur");
        assertTrue(expected.stream().flatMap(List::stream).anyMatch(e -> e.tokenIds.isEmpty()),
                "blocks without token ids occur");

        List<Block> shuffled = new ArrayList<>(blocks);
        Collections.shuffle(shuffled, new Random(7));
        assertEquals(records, track(shuffled, D_SAE, OPTIONS).toRecords(WINDOW, 1 << 24),
                "the ranking is a total order: the offer order does not matter");
    }

    @Test
    void recordsAreChunkedUnderTheByteLimitAndCoverEveryFeatureInOrder() {
        List<Block> blocks = blocks(2, 200, 10, 64);
        FeatureExampleOptions o = new FeatureExampleOptions(4, 3, 2, 1);
        FeatureExampleTracker tracker = track(blocks, 64, o);
        List<FeatureTopK> whole = features(tracker.toRecords(WINDOW, 1 << 24));
        int limit = 1024;
        List<FeatureExamples> records = tracker.toRecords(WINDOW, limit);
        assertTrue(records.size() > 3, "a small limit splits the features: " + records.size());
        int next = 0;
        for (int i = 0; i < records.size(); i++) {
            FeatureExamples r = records.get(i);
            int bytes = RecordCodec.FEATURE_EXAMPLES.encode(r).length;
            assertTrue(bytes <= limit, "record " + i + " takes " + bytes + " bytes");
            assertEquals(next, r.getFirstFeature(), "records follow each other");
            assertEquals(200, r.getBlocksSampled());
            for (FeatureTopK f : r.getFeatures()) {
                assertEquals(next++, f.getFeature());
            }
            if (i + 1 < records.size()) { // greedy and exact: one more feature would not have fitted
                List<FeatureTopK> more = new ArrayList<>(r.getFeatures());
                more.add(records.get(i + 1).getFeatures().get(0));
                FeatureExamples bigger = FeatureExamples.newBuilder(r).setFeatures(more).build();
                assertTrue(RecordCodec.FEATURE_EXAMPLES.encode(bigger).length > limit, "record " + i + " could take more");
            }
        }
        assertEquals(64, next, "every feature once");
        assertEquals(whole, features(records), "chunking changes nothing but the cut");
    }

    @Test
    void aFeatureTooLargeForOneRecordKeepsItsStrongestExamplesThatFit() {
        FeatureExampleOptions o = new FeatureExampleOptions(8, 30, 30, 1);
        List<Block> blocks = blocks(3, 40, 80, 2);
        FeatureExampleTracker tracker = track(blocks, 2, o);
        List<FeatureTopK> whole = features(tracker.toRecords(WINDOW, 1 << 24));
        assertEquals(8, whole.get(0).getExamples().size());
        List<FeatureExamples> records = tracker.toRecords(WINDOW, 1024);
        List<FeatureTopK> kept = features(records);
        assertEquals(2, kept.size());
        for (int f = 0; f < 2; f++) {
            List<FeatureExample> all = whole.get(f).getExamples();
            List<FeatureExample> some = kept.get(f).getExamples();
            assertTrue(!some.isEmpty() && some.size() < all.size(), "feature " + f + " kept " + some.size());
            assertEquals(all.subList(0, some.size()), some, "the strongest ones");
        }
        for (FeatureExamples r : records) {
            assertTrue(RecordCodec.FEATURE_EXAMPLES.encode(r).length <= 1024);
        }
    }

    @Test
    void stateRoundTripsAndAResumedTrackerEndsAsAnUninterruptedOne() {
        List<Block> blocks = blocks(4, 200, 10, D_SAE);
        FeatureExampleTracker straight = new FeatureExampleTracker(D_SAE, OPTIONS);
        FeatureExampleTracker first = new FeatureExampleTracker(D_SAE, OPTIONS);
        for (Block b : blocks.subList(0, 120)) {
            straight.offer(b.origin, b.acts, b.rows, D_SAE);
            first.offer(b.origin, b.acts, b.rows, D_SAE);
        }
        byte[] saved = first.toBytes();
        FeatureExampleTracker resumed = FeatureExampleTracker.fromBytes(saved, D_SAE, OPTIONS);
        assertArrayEquals(saved, resumed.toBytes(), "bytes → tracker → the same bytes");
        assertEquals(first.toRecords(WINDOW, 1 << 24), resumed.toRecords(WINDOW, 1 << 24));
        for (Block b : blocks.subList(120, 200)) {
            straight.offer(b.origin, b.acts, b.rows, D_SAE);
            resumed.offer(b.origin, b.acts, b.rows, D_SAE);
        }
        assertEquals(straight.toRecords(WINDOW, 2048), resumed.toRecords(WINDOW, 2048));
        assertArrayEquals(straight.toBytes(), resumed.toBytes());

        FeatureExampleTracker changed = FeatureExampleTracker.fromBytes(saved, D_SAE, new FeatureExampleOptions(5, 3, 2, 1));
        assertTrue(changed.isEmpty(), "saved with another k: the window restarts");

        straight.reset();
        assertTrue(straight.isEmpty());
        FeatureExamples empty = straight.toRecords(WINDOW, 1 << 24).get(0);
        assertEquals(0, empty.getBlocksSampled());
        assertEquals("fallback-model", empty.getModelId().toString());
        assertTrue(empty.getFeatures().stream().allMatch(f -> f.getExamples().isEmpty()));
        assertEquals(D_SAE, empty.getFeatures().size(), "features without examples are listed too");
    }

    @Test
    void varIntSizesAreAvros() {
        assertEquals(1, FeatureExampleTracker.varIntBytes(0));
        assertEquals(1, FeatureExampleTracker.varIntBytes(63));
        assertEquals(2, FeatureExampleTracker.varIntBytes(64));
        assertEquals(1, FeatureExampleTracker.varIntBytes(-1));
        assertEquals(5, FeatureExampleTracker.varIntBytes(Integer.MAX_VALUE));
    }
}
