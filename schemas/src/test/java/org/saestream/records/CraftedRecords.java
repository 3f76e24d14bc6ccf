package org.saestream.records;

import org.saestream.tensor.DType;
import org.saestream.tensor.TensorCodec;
import org.saestream.testing.SampleRecords;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Records with a valid single-object header whose body lies about a length: what an attacker or a broken
 * client can put on a topic. Each starts from a well-formed record with a distinctive value in one field and
 * replaces that value's length (or count) prefix with a claimed one, so everything before it still decodes.
 */
public final class CraftedRecords {
    /** Two token ids whose encoding does not occur elsewhere in a test record: 1234567 and 7654321. */
    private static final List<Integer> MARK_IDS = List.of(1234567, 7654321);
    private static final String MARK_TEXT = "MARKxMARK";

    private CraftedRecords() {
    }

    /** A small ActivationBlock (2 tokens x width 4, F32) whose token_ids array claims {@code count} items. */
    public static byte[] activationBlockClaimingTokenIds(long count) {
        byte[] valid = RecordCodec.ACTIVATION_BLOCK.encode(SampleRecords.block("h", MARK_IDS, new float[8]));
        return withLengthBefore(valid, zigzagInts(MARK_IDS), count);
    }

    /** As above, with data claiming {@code length} bytes. */
    public static byte[] activationBlockClaimingDataBytes(long length) {
        float[] data = new float[8];
        Arrays.fill(data, 1234.5f);
        byte[] valid = RecordCodec.ACTIVATION_BLOCK.encode(SampleRecords.block("h", List.of(1, 2), data));
        return withLengthBefore(valid, TensorCodec.encode(data, DType.F32), length);
    }

    /** As above, with hook_name claiming {@code length} bytes. */
    public static byte[] activationBlockClaimingStringBytes(long length) {
        byte[] valid = RecordCodec.ACTIVATION_BLOCK.encode(SampleRecords.block(MARK_TEXT, List.of(1, 2), new float[8]));
        return withLengthBefore(valid, MARK_TEXT.getBytes(StandardCharsets.UTF_8), length);
    }

    /** A GradientStep whose sketch claims {@code length} bytes. */
    public static byte[] gradientStepClaimingSketchBytes(String run, long step, long length) {
        float[] sketch = new float[4];
        Arrays.fill(sketch, 4321.25f);
        byte[] valid = RecordCodec.GRADIENT_STEP.encode(SampleRecords.gradientStep(run, step, sketch).build());
        return withLengthBefore(valid, TensorCodec.encode(sketch, DType.F32), length);
    }

    /** A GradientStep whose model_id claims {@code length} bytes. */
    public static byte[] gradientStepClaimingStringBytes(String run, long step, long length) {
        GradientStep s = SampleRecords.gradientStep(run, step, new float[4]).build();
        s.setModelId(MARK_TEXT);
        return withLengthBefore(RecordCodec.GRADIENT_STEP.encode(s), MARK_TEXT.getBytes(StandardCharsets.UTF_8), length);
    }

    /** A SaeSnapshot chunk whose data claims {@code length} bytes. */
    public static byte[] snapshotChunkClaimingDataBytes(String experiment, String sae, long length) {
        byte[] data = MARK_TEXT.getBytes(StandardCharsets.UTF_8);
        byte[] valid = RecordCodec.SAE_SNAPSHOT.encode(
                SampleRecords.snapshotChunk(experiment, sae, "tokens-1", "cfg.json", data));
        return withLengthBefore(valid, data, length);
    }

    /** A SaeMetrics record whose sae_id claims {@code length} bytes. */
    public static byte[] saeMetricsClaimingStringBytes(String experiment, long length) {
        SaeMetrics m = SampleRecords.metrics(experiment, MARK_TEXT, 1, 0.5);
        return withLengthBefore(RecordCodec.SAE_METRICS.encode(m), MARK_TEXT.getBytes(StandardCharsets.UTF_8), length);
    }




    /**
     * Replaces the one-byte length prefix in front of the only occurrence of {@code marker} in {@code valid}
     * with the varint of {@code claimed}.
     */
    static byte[] withLengthBefore(byte[] valid, byte[] marker, long claimed) {
        int at = indexOf(valid, marker);
        if (at < 1 || indexOf(Arrays.copyOfRange(valid, at + 1, valid.length), marker) >= 0) {
            throw new IllegalArgumentException("the marker must occur once, after a length prefix");
        }
        if ((valid[at - 1] & 0x80) != 0 || (at >= 2 && (valid[at - 2] & 0x80) != 0)) {
            throw new IllegalArgumentException("the prefix before the marker is not a one-byte varint");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(valid, 0, at - 1);
        writeZigzag(out, claimed);
        out.write(valid, at, valid.length - at);
        return out.toByteArray();
    }

    private static byte[] zigzagInts(List<Integer> values) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        values.forEach(v -> writeZigzag(out, v));
        return out.toByteArray();
    }

    private static void writeZigzag(ByteArrayOutputStream out, long v) {
        long z = (v << 1) ^ (v >> 63);
        while ((z & ~0x7FL) != 0) {
            out.write((int) ((z & 0x7F) | 0x80));
            z >>>= 7;
        }
        out.write((int) z);
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
