package org.saestream.jobs;

import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.saestream.records.FeatureExample;
import org.saestream.records.FeatureExamples;
import org.saestream.records.FeatureTopK;
import org.saestream.records.RecordCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The strongest examples of every feature of one SAE over one window. Each offered block counts once per
 * feature: its token with the largest activation (> 0; the earliest on ties), so that one repetitive
 * stretch of text cannot fill a feature's top k. An example keeps its activation, block reference,
 * token row, and the block's own tokens in [row - contextBefore, row + contextAfter] (clipped to the
 * block) with the feature's activation on each.
 *
 * <p>Ranking: activation descending, then source topic, partition and offset ascending: a total order
 * on the examples of one window, so the result does not depend on the order blocks are offered in.
 * State round-trips through {@link #toBytes()} / {@link #fromBytes}; no Flink imports.
 */
final class FeatureExampleTracker {
    private static final Logger LOG = LoggerFactory.getLogger(FeatureExampleTracker.class);
    private static final int FORMAT = 1;

    /**
     * One example of one feature.
     *
     * @param origin       index into the tracker's block references
     * @param row          the token's row in its block
     * @param contextStart row of the first context token
     * @param tokenIds     context token ids (empty when the block has none)
     * @param activations  the feature's activation on each context token
     */
    record Example(float activation, int origin, int row, int contextStart, int[] tokenIds, float[] activations) {
    }

    /** What a record says besides the examples (the tracker adds d_sae, blocks_sampled, the model when known). */
    record Window(String experiment, String saeId, String hookName, String fallbackModelId, long windowIndex,
                  long tokensSeen, Instant time) {
    }

    private final int dSae;
    private final FeatureExampleOptions options;
    /** per feature its examples, strongest first ({@code count[f]} of them; arrays of k, created on first use) */
    private final Example[][] top;
    private final int[] count;
    /** block references (without token ids) of the examples, in order of arrival */
    private final List<BlockOrigin> origins = new ArrayList<>();
    private long blocksSampled;
    /** model_id of the first block offered in this window */
    private String modelId;

    FeatureExampleTracker(int dSae, FeatureExampleOptions options) {
        if (dSae < 1 || !options.enabled()) {
            throw new IllegalArgumentException("a tracker needs dSae >= 1 and k >= 1, got " + dSae + " and " + options);
        }
        this.dSae = dSae;
        this.options = options;
        this.top = new Example[dSae][];
        this.count = new int[dSae];
    }

    long blocksSampled() {
        return blocksSampled;
    }

    /** True before the first block of the window. */
    boolean isEmpty() {
        return blocksSampled == 0;
    }

    /**
     * Offers one block's feature activations.
     *
     * @param origin the block (its token ids: one per row, or none)
     * @param acts   [rows, dSae] row-major, as the SAE encodes the block's rows
     */
    void offer(BlockOrigin origin, float[] acts, int rows, int dSae) {
        if (dSae != this.dSae || rows < 1 || acts.length < (long) rows * dSae) {
            throw new IllegalArgumentException("offer: " + rows + " rows x " + dSae + " features in " + acts.length
                    + " floats, tracker of " + this.dSae + " features");
        }
        int[] tokens = origin.tokenIds == null ? new int[0] : origin.tokenIds;
        if (tokens.length != 0 && tokens.length != rows) {
            throw new IllegalArgumentException("offer: block " + origin + " has " + tokens.length + " token ids for "
                    + rows + " rows");
        }
        blocksSampled++;
        if (modelId == null) {
            modelId = origin.modelId;
        }
        // each feature's strongest token of the block: strictly greater, so the earliest wins ties
        float[] best = new float[dSae];     // 0: only activations > 0 count
        int[] bestRow = new int[dSae];
        Arrays.fill(bestRow, -1);
        for (int r = 0; r < rows; r++) {
            int base = r * dSae;
            for (int f = 0; f < dSae; f++) {
                float v = acts[base + f];
                if (v > best[f]) {
                    best[f] = v;
                    bestRow[f] = r;
                }
            }
        }
        int originIndex = -1;
        int k = options.k();
        for (int f = 0; f < dSae; f++) {
            int row = bestRow[f];
            if (row < 0 || (count[f] == k && compare(best[f], origin, top[f][k - 1]) >= 0)) {
                continue; // never fired in this block, or weaker than the feature's k-th
            }
            if (originIndex < 0) {
                origins.add(origin.withoutTokens());
                originIndex = origins.size() - 1;
            }
            int from = Math.max(0, row - options.contextBefore());
            int to = Math.min(rows - 1, row + options.contextAfter());
            float[] contextActs = new float[to - from + 1];
            for (int r = from; r <= to; r++) {
                contextActs[r - from] = acts[r * dSae + f];
            }
            int[] contextTokens = tokens.length == 0 ? tokens : Arrays.copyOfRange(tokens, from, to + 1);
            insert(f, new Example(best[f], originIndex, row, from, contextTokens, contextActs));
        }
    }

    /** Negative when (activation, origin) ranks before {@code e}; one example per block, so the row never decides. */
    private int compare(float activation, BlockOrigin origin, Example e) {
        int c = Float.compare(e.activation(), activation); // larger first
        if (c != 0) {
            return c;
        }
        BlockOrigin o = origins.get(e.origin());
        c = origin.sourceTopic.compareTo(o.sourceTopic);
        if (c != 0) {
            return c;
        }
        c = Integer.compare(origin.sourcePartition, o.sourcePartition);
        return c != 0 ? c : Long.compare(origin.sourceOffset, o.sourceOffset);
    }

    private void insert(int f, Example e) {
        int k = options.k();
        if (top[f] == null) {
            top[f] = new Example[k];
        }
        Example[] list = top[f];
        BlockOrigin origin = origins.get(e.origin());
        int at = Math.min(count[f], k - 1);
        while (at > 0 && compare(e.activation(), origin, list[at - 1]) < 0) {
            list[at] = list[at - 1];
            at--;
        }
        list[at] = e;
        count[f] = Math.min(count[f] + 1, k);
    }

    /** Forgets the window: no examples, no blocks. */
    void reset() {
        Arrays.fill(top, null);
        Arrays.fill(count, 0);
        origins.clear();
        blocksSampled = 0;
        modelId = null;
    }

    /**
     * The window's examples as FeatureExamples records covering features 0 .. dSae - 1 in order (a feature
     * without examples has an empty list), each record's single-object encoding at most {@code maxRecordBytes}.
     * Records are filled greedily in feature order, sizes computed exactly from the Avro encoding of each
     * feature's entry. A feature whose entry alone does not fit keeps its strongest examples that do (logged).
     */
    List<FeatureExamples> toRecords(Window w, int maxRecordBytes) {
        String model = modelId != null ? modelId : w.fallbackModelId();
        FeatureExamples.Builder header = FeatureExamples.newBuilder()
                .setExperiment(w.experiment()).setSaeId(w.saeId()).setHookName(w.hookName()).setModelId(model)
                .setWindowIndex(w.windowIndex()).setTokensSeen(w.tokensSeen()).setFirstFeature(0).setDSae(dSae)
                .setBlocksSampled(blocksSampled).setFeatures(List.of()).setTimeMs(w.time());
        // single-object encoding with no features and first_feature 0: an empty array is one byte (0)
        int emptyBytes = RecordCodec.FEATURE_EXAMPLES.encode(header.build()).length;
        EntrySizer sizer = new EntrySizer();

        List<FeatureExamples> out = new ArrayList<>();
        List<FeatureTopK> chunk = new ArrayList<>();
        int first = 0;
        long entryBytes = 0;
        for (int f = 0; f < dSae; f++) {
            List<FeatureExample> examples = new ArrayList<>(count[f]);
            for (int i = 0; i < count[f]; i++) {
                examples.add(record(top[f][i]));
            }
            FeatureTopK entry = new FeatureTopK(f, examples);
            int size = sizer.size(entry);
            while (recordBytes(emptyBytes, f, 1, size) > maxRecordBytes && !examples.isEmpty()) {
                examples.remove(examples.size() - 1); // the entry holds this list: drop its weakest example
                size = sizer.size(entry);
            }
            if (examples.size() < count[f]) {
                LOG.warn("{}/{}: window {}: feature {} keeps {} of its {} examples to fit a record of {} bytes",
                        w.experiment(), w.saeId(), w.windowIndex(), f, examples.size(), count[f], maxRecordBytes);
            }
            if (recordBytes(emptyBytes, f, 1, size) > maxRecordBytes) {
                throw new IllegalArgumentException("a FeatureExamples record of one feature without examples takes "
                        + recordBytes(emptyBytes, f, 1, size) + " bytes, more than the limit " + maxRecordBytes);
            }
            if (!chunk.isEmpty() && recordBytes(emptyBytes, first, chunk.size() + 1, entryBytes + size) > maxRecordBytes) {
                out.add(header.setFirstFeature(first).setFeatures(chunk).build());
                chunk = new ArrayList<>();
                first = f;
                entryBytes = 0;
            }
            chunk.add(entry);
            entryBytes += size;
        }
        out.add(header.setFirstFeature(first).setFeatures(chunk).build());
        return out;
    }

    /**
     * Encoded size of a record with {@code entries} entries of {@code entryBytes} in all starting at feature
     * {@code first}: the empty record, first_feature's varint beyond one byte, and the array's item count
     * (the array's end marker is the empty array's one byte).
     */
    private static long recordBytes(int emptyBytes, int first, int entries, long entryBytes) {
        return emptyBytes + (varIntBytes(first) - 1) + varIntBytes(entries) + entryBytes;
    }

    /** Bytes of an Avro int (zig-zag varint). */
    static int varIntBytes(int n) {
        int z = (n << 1) ^ (n >> 31);
        int bytes = 1;
        while ((z & ~0x7F) != 0) {
            z >>>= 7;
            bytes++;
        }
        return bytes;
    }

    private FeatureExample record(Example e) {
        BlockOrigin o = origins.get(e.origin());
        List<Integer> tokens = new ArrayList<>(e.tokenIds().length);
        for (int t : e.tokenIds()) {
            tokens.add(t);
        }
        List<Float> acts = new ArrayList<>(e.activations().length);
        for (float a : e.activations()) {
            acts.add(a);
        }
        return FeatureExample.newBuilder()
                .setActivation(e.activation())
                .setSourceTopic(o.sourceTopic).setSourcePartition(o.sourcePartition).setSourceOffset(o.sourceOffset)
                .setShardId(o.shardId).setDocumentId(o.documentId).setSequenceIndex(o.sequenceIndex)
                .setPosition(o.firstTokenPosition + e.row())
                .setContextStart(o.firstTokenPosition + e.contextStart())
                .setTokenIds(tokens).setActivations(acts)
                .build();
    }

    /** Exact Avro binary size of one FeatureTopK, as it is written inside a record's array. */
    private static final class EntrySizer {
        private final SpecificDatumWriter<FeatureTopK> writer = new SpecificDatumWriter<>(FeatureTopK.class);
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private BinaryEncoder encoder;

        int size(FeatureTopK entry) {
            bytes.reset();
            encoder = EncoderFactory.get().directBinaryEncoder(bytes, encoder);
            try {
                writer.write(entry, encoder);
                encoder.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return bytes.size();
        }
    }

    // ---- state ----

    /** The whole tracker; block references that no example uses any more are left out. */
    byte[] toBytes() {
        Map<Integer, Integer> remap = new HashMap<>();
        List<BlockOrigin> used = new ArrayList<>();
        for (int f = 0; f < dSae; f++) {
            for (int i = 0; i < count[f]; i++) {
                remap.computeIfAbsent(top[f][i].origin(), old -> {
                    used.add(origins.get(old));
                    return used.size() - 1;
                });
            }
        }
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(buffer)) {
            out.writeInt(FORMAT);
            out.writeInt(dSae);
            out.writeInt(options.k());
            out.writeInt(options.contextBefore());
            out.writeInt(options.contextAfter());
            out.writeLong(blocksSampled);
            writeString(out, modelId);
            out.writeInt(used.size());
            for (BlockOrigin o : used) {
                writeString(out, o.sourceTopic);
                out.writeInt(o.sourcePartition);
                out.writeLong(o.sourceOffset);
                writeString(out, o.modelId);
                writeString(out, o.shardId);
                out.writeLong(o.documentId);
                out.writeInt(o.sequenceIndex);
                out.writeLong(o.firstTokenPosition);
            }
            for (int f = 0; f < dSae; f++) {
                out.writeInt(count[f]);
                for (int i = 0; i < count[f]; i++) {
                    Example e = top[f][i];
                    out.writeFloat(e.activation());
                    out.writeInt(remap.get(e.origin()));
                    out.writeInt(e.row());
                    out.writeInt(e.contextStart());
                    out.writeInt(e.activations().length);
                    out.writeBoolean(e.tokenIds().length != 0);
                    if (e.tokenIds().length != 0) {
                        for (int t : e.tokenIds()) {
                            out.writeInt(t);
                        }
                    }
                    for (float a : e.activations()) {
                        out.writeFloat(a);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return buffer.toByteArray();
    }

    /**
     * A tracker from {@link #toBytes()}. When the options' k or context sizes differ from the saved ones
     * (the experiment changed between runs) the saved window is dropped: a fresh tracker (logged).
     */
    static FeatureExampleTracker fromBytes(byte[] bytes, int dSae, FeatureExampleOptions options) {
        FeatureExampleTracker t = new FeatureExampleTracker(dSae, options);
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            int format = in.readInt();
            if (format != FORMAT) {
                throw new IllegalArgumentException("feature example state of format " + format + ", expected " + FORMAT);
            }
            int savedDSae = in.readInt();
            int k = in.readInt();
            int before = in.readInt();
            int after = in.readInt();
            if (savedDSae != dSae) {
                throw new IllegalArgumentException("feature example state of " + savedDSae + " features for an SAE of "
                        + dSae);
            }
            if (k != options.k() || before != options.contextBefore() || after != options.contextAfter()) {
                LOG.warn("feature examples saved with k {} and context {}..{}, now {}: this window's examples restart",
                        k, before, after, options);
                return t;
            }
            t.blocksSampled = in.readLong();
            t.modelId = readString(in);
            int origins = in.readInt();
            for (int i = 0; i < origins; i++) {
                BlockOrigin o = new BlockOrigin();
                o.sourceTopic = readString(in);
                o.sourcePartition = in.readInt();
                o.sourceOffset = in.readLong();
                o.modelId = readString(in);
                o.shardId = readString(in);
                o.documentId = in.readLong();
                o.sequenceIndex = in.readInt();
                o.firstTokenPosition = in.readLong();
                t.origins.add(o);
            }
            for (int f = 0; f < dSae; f++) {
                int n = in.readInt();
                if (n > k) {
                    throw new IllegalArgumentException("feature " + f + " has " + n + " saved examples, k is " + k);
                }
                for (int i = 0; i < n; i++) {
                    float activation = in.readFloat();
                    int origin = in.readInt();
                    int row = in.readInt();
                    int contextStart = in.readInt();
                    int length = in.readInt();
                    int[] tokens = new int[in.readBoolean() ? length : 0];
                    for (int j = 0; j < tokens.length; j++) {
                        tokens[j] = in.readInt();
                    }
                    float[] acts = new float[length];
                    for (int j = 0; j < length; j++) {
                        acts[j] = in.readFloat();
                    }
                    if (t.top[f] == null) {
                        t.top[f] = new Example[k];
                    }
                    t.top[f][i] = new Example(activation, origin, row, contextStart, tokens, acts);
                }
                t.count[f] = n;
            }
            if (in.read() != -1) {
                throw new IllegalArgumentException("feature example state has trailing bytes");
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("feature example state is truncated or corrupt: " + e.getMessage(), e);
        }
        return t;
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        if (s == null) {
            out.writeInt(-1);
            return;
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String readString(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0) {
            return null;
        }
        byte[] b = new byte[n];
        in.readFully(b);
        return new String(b, StandardCharsets.UTF_8);
    }
}
