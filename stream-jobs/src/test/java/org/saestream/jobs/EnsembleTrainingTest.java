package org.saestream.jobs;

import org.junit.jupiter.api.Test;
import org.saestream.flink.OutboundRecord;
import org.saestream.records.DictionaryPair;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeComparison;
import org.saestream.records.SaeMetrics;
import org.saestream.records.SaeSnapshot;
import org.saestream.records.Topics;
import org.saestream.sae.DictionaryComparison;
import org.saestream.tensor.Safetensors;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An ensemble of three SAEs in two compatible classes, spread over groups, through the job's operators. */
class EnsembleTrainingTest {
    private static final int WIDTH = 8;
    private static final int ROWS = 48;
    private static final int DOCS = 12;

    private static SaeJobConfig ensemble() {
        return new SaeJobConfig("ens", TestBlocks.TOPIC, "h", List.of(
                SaeTrainingFunctionTest.sae("a", 32, 1),
                SaeTrainingFunctionTest.sae("b", 32, 2),
                SaeTrainingFunctionTest.sae("c", 64, 3)),
                128, 2, null, 0.9, 4096, 4096);
    }

    @Test
    void groupsShareBatchesOnlyWhereHookWidthAndBatchSizeAgreeAndSpreadOverSubtasks() {
        List<SaeGroup> groups = ensemble().groups();
        assertEquals(3, groups.size(), "a and b spread over two groups (parallelism 2), c alone: " + groups);
        assertEquals(List.of("a"), groups.get(0).members().stream().map(s -> s.saeId()).toList());
        assertEquals(List.of("b"), groups.get(1).members().stream().map(s -> s.saeId()).toList());
        assertEquals(64, groups.get(2).batchSize());
        int subtaskA = org.apache.flink.runtime.state.KeyGroupRangeAssignment.assignKeyToParallelOperator(
                groups.get(0).key(), SaeJobConfig.MAX_PARALLELISM, 2);
        int subtaskB = org.apache.flink.runtime.state.KeyGroupRangeAssignment.assignKeyToParallelOperator(
                groups.get(1).key(), SaeJobConfig.MAX_PARALLELISM, 2);
        assertTrue(subtaskA != subtaskB, "the first two groups go to different subtasks");
        assertEquals(groups, ensemble().groups(), "the plan is deterministic, so a restore finds its groups");
    }

    @Test
    void everySaeSeesEveryTokenOnceAndTheEnsembleIsComparedAtEachWindow() throws Exception {
        long expectedChecksum = 0;
        List<OutboundRecord> out;
        List<OutboundRecord> comparisons;
        try (JobHarness job = new JobHarness(ensemble(), null)) {
            for (int doc = 0; doc < DOCS; doc++) {
                job.process(TestBlocks.good(doc, ROWS, WIDTH));
                expectedChecksum += TestBlocks.checksum(doc, ROWS);
            }
            job.endOfInput();
            out = job.trainingOutput();
            comparisons = job.comparisons();
        }
        for (String id : List.of("a", "b", "c")) {
            SaeMetrics last = last(out, id);
            assertEquals((long) DOCS * ROWS, last.getTokensSeen(), id + " trained on every token");
            assertEquals(expectedChecksum, last.getTokenChecksum(), id + " saw each token exactly once");
            assertEquals(2, last.getWindowIndex(), id + ": windows of 256 tokens closed at 256 and 512");
        }

        List<SaeComparison> records = comparisons.stream()
                .peek(r -> assertEquals(Topics.SAE_COMPARISONS, r.topic))
                .map(r -> RecordCodec.SAE_COMPARISON.decode(r.value)).toList();
        assertEquals(List.of(1L, 2L, -1L), records.stream().map(SaeComparison::getWindowIndex).toList(),
                "one comparison per window boundary and one at the end");
        for (SaeComparison c : records) {
            assertEquals(List.of("a", "b", "c"), c.getSaeIds().stream().map(CharSequence::toString).toList());
            assertEquals(3, c.getPairs().size(), "three pairs of three dictionaries");
            for (DictionaryPair p : c.getPairs()) {
                assertTrue(p.getMmcsAToB() > 0 && p.getMmcsAToB() <= 1.0 + 1e-6, "MMCS in (0, 1]: " + p);
                assertTrue(p.getMatchedMean() != null && p.getMatchedMean() <= p.getMmcsAToB() + 1e-6,
                        "a one-to-one matching cannot beat each feature's best match: " + p);
            }
        }

        // the MMCS published at the end equals a recomputation from the final snapshots
        Map<String, float[]> finalDecoders = new TreeMap<>();
        for (String id : List.of("a", "b")) {
            Map<Long, Map<String, byte[]>> snaps = snapshots(out, id);
            finalDecoders.put(id, Safetensors.read(snaps.get((long) DOCS * ROWS).get("sae_weights.safetensors"), id)
                    .tensors().get("W_dec").toFloats());
        }
        DictionaryPair ab = records.get(2).getPairs().get(0);
        double recomputed = DictionaryComparison.compare(finalDecoders.get("a"), finalDecoders.get("b"), WIDTH, 0.9).mmcs();
        assertEquals(recomputed, ab.getMmcsAToB(), 1e-6);
    }

    @Test
    void selfSimilarityInEachSnapshotEqualsARecomputationFromThePreviousSnapshot() throws Exception {
        List<OutboundRecord> out;
        try (JobHarness job = new JobHarness(ensemble(), null)) {
            for (int doc = 0; doc < DOCS; doc++) {
                job.process(TestBlocks.good(doc, ROWS, WIDTH));
            }
            job.endOfInput();
            out = job.trainingOutput();
        }
        Map<Long, Map<String, byte[]>> snaps = snapshots(out, "a");
        List<Long> tokens = new ArrayList<>(snaps.keySet());
        assertEquals(3, tokens.size(), "two window snapshots and the final one: " + tokens);
        float[] previous = weights(snaps.get(tokens.get(0)));
        float[] current = weights(snaps.get(tokens.get(1)));
        float[] published = Safetensors.read(snaps.get(tokens.get(1)).get("drift.safetensors"), "drift")
                .tensors().get("self_similarity_previous").toFloats();
        assertEquals(32, published.length);
        for (int f = 0; f < 32; f++) {
            double dot = 0;
            double na = 0;
            double nb = 0;
            for (int i = 0; i < WIDTH; i++) {
                dot += previous[f * WIDTH + i] * current[f * WIDTH + i];
                na += previous[f * WIDTH + i] * previous[f * WIDTH + i];
                nb += current[f * WIDTH + i] * current[f * WIDTH + i];
            }
            assertEquals(dot / Math.sqrt(na * nb), published[f], 1e-5, "feature " + f);
        }
    }

    private static float[] weights(Map<String, byte[]> files) {
        return Safetensors.read(files.get("sae_weights.safetensors"), "weights").tensors().get("W_dec").toFloats();
    }

    /** tokens_seen → file name → bytes, reassembled from the snapshot chunks of one SAE. */
    static Map<Long, Map<String, byte[]>> snapshots(List<OutboundRecord> out, String saeId) throws Exception {
        Map<Long, Map<String, ByteArrayOutputStream>> files = new TreeMap<>();
        for (OutboundRecord r : out) {
            if (!r.topic.equals(Topics.SAE_SNAPSHOTS)) {
                continue;
            }
            SaeSnapshot chunk = RecordCodec.SAE_SNAPSHOT.decode(r.value);
            if (!chunk.getSaeId().toString().equals(saeId)) {
                continue;
            }
            byte[] data = new byte[chunk.getData().remaining()];
            chunk.getData().duplicate().get(data);
            files.computeIfAbsent(chunk.getTokensSeen(), t -> new TreeMap<>())
                    .computeIfAbsent(chunk.getFileName().toString(), f -> new ByteArrayOutputStream()).write(data);
        }
        Map<Long, Map<String, byte[]>> result = new TreeMap<>();
        files.forEach((t, m) -> {
            Map<String, byte[]> bytes = new TreeMap<>();
            m.forEach((name, stream) -> bytes.put(name, stream.toByteArray()));
            result.put(t, bytes);
        });
        return result;
    }

    private static SaeMetrics last(List<OutboundRecord> out, String saeId) {
        SaeMetrics last = null;
        for (OutboundRecord r : out) {
            if (r.topic.equals(Topics.SAE_METRICS)) {
                SaeMetrics m = RecordCodec.SAE_METRICS.decode(r.value);
                if (m.getSaeId().toString().equals(saeId)) {
                    last = m;
                }
            }
        }
        assertTrue(last != null, "metrics of " + saeId);
        return last;
    }
}
