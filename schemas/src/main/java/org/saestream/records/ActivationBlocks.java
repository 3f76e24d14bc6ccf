package org.saestream.records;

import org.saestream.tensor.DType;
import org.saestream.topics.TopicCatalog;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Cuts an activation block whose record would not fit the catalog's record-size limit into blocks of
 * consecutive tokens of the same window. Each part keeps run, model, hook, shard, document and sequence
 * index and says where it starts ({@code first_token_position}), so a token's identity (its document and
 * position) and the exactly-once checksum are those of the uncut block; consumers need not know a block was
 * cut. The parts' data and gradient are views of the block's bytes, not copies.
 */
public final class ActivationBlocks {
    /** Room for the record's numbers, enum, Avro framing and the single-object header besides its strings. */
    static final int FIXED_BYTES = 256;
    /** An int token id takes at most 5 bytes as an Avro varint. */
    static final int TOKEN_ID_BYTES = 5;

    private ActivationBlocks() {
    }

    /** The block as it is when its record fits {@link TopicCatalog#MAX_RECORD_BYTES}, else its parts in order. */
    public static List<ActivationBlock> fitted(ActivationBlock block) {
        return fitted(block, TopicCatalog.MAX_RECORD_BYTES);
    }

    /**
     * The block as it is when its record fits {@code maxRecordBytes}, else parts of as many whole rows as fit.
     *
     * @throws IllegalArgumentException when not even one row fits (naming hook, width and dtype)
     */
    public static List<ActivationBlock> fitted(ActivationBlock block, int maxRecordBytes) {
        int rows = block.getTokenCount();
        long rowBytes = (long) block.getWidth() * DType.valueOf(block.getDtype().name()).bytes();
        boolean hasIds = !block.getTokenIds().isEmpty();
        long perRow = rowBytes * (block.getGradient() == null ? 1 : 2) + (hasIds ? TOKEN_ID_BYTES : 0);
        long fixed = FIXED_BYTES + utf8(block.getRunId()) + utf8(block.getModelId()) + utf8(block.getHookName())
                + utf8(block.getShardId()) + utf8(block.getProducerId());
        if (fixed + perRow * rows <= maxRecordBytes) {
            return List.of(block);
        }
        long fit = (maxRecordBytes - fixed) / perRow;
        if (fit < 1) {
            throw new IllegalArgumentException("one token of hook " + block.getHookName() + " (width " + block.getWidth()
                    + ", " + block.getDtype() + (block.getGradient() == null ? "" : ", with its gradient") + ") takes "
                    + perRow + " bytes, more than a record may hold (" + maxRecordBytes + ")");
        }
        List<ActivationBlock> parts = new ArrayList<>();
        for (int from = 0; from < rows; from += (int) fit) {
            int count = (int) Math.min(fit, rows - from);
            parts.add(ActivationBlock.newBuilder() // field by field: the builder's copy constructor copies the data
                    .setRunId(block.getRunId()).setModelId(block.getModelId()).setHookName(block.getHookName())
                    .setShardId(block.getShardId()).setDocumentId(block.getDocumentId())
                    .setSequenceIndex(block.getSequenceIndex())
                    .setFirstTokenPosition(block.getFirstTokenPosition() + from)
                    .setTokenCount(count).setWidth(block.getWidth()).setDtype(block.getDtype())
                    .setTokenIds(hasIds ? block.getTokenIds().subList(from, from + count) : block.getTokenIds())
                    .setData(rows(block.getData(), from * rowBytes, count * rowBytes))
                    .setGradient(block.getGradient() == null ? null
                            : rows(block.getGradient(), from * rowBytes, count * rowBytes))
                    .setProducerId(block.getProducerId()).setTimeMs(block.getTimeMs())
                    .setContextSize(block.getContextSize()).setPrependBos(block.getPrependBos())
                    .setDatasetPath(block.getDatasetPath())
                    .build());
        }
        return parts;
    }

    private static ByteBuffer rows(ByteBuffer all, long offset, long length) {
        ByteBuffer view = all.duplicate();
        int start = all.position() + Math.toIntExact(offset);
        view.limit(start + Math.toIntExact(length)).position(start);
        return view.slice();
    }

    /** At most 3 UTF-8 bytes per UTF-16 char, plus the varint length prefix: a bound without encoding it. */
    private static long utf8(CharSequence s) {
        return 3L * s.length() + 5;
    }
}
