package org.saestream.jobs;

import org.saestream.records.ActivationBlock;
import org.saestream.records.RecordCodec;
import org.saestream.records.RecordDecodeException;
import org.saestream.records.TokenIdentity;
import org.saestream.tensor.DType;
import org.saestream.tensor.TensorCodec;

/**
 * Decides what happens to one input record: its tokens are accepted, it is rejected with a reason
 * (dead-letter topic), or it belongs to another hook and is skipped.
 */
final class BlockValidator {
    sealed interface Outcome permits Accepted, Rejected, Skipped {
    }

    record Accepted(TokenRows rows) implements Outcome {
    }

    record Rejected(String reason) implements Outcome {
    }

    record Skipped(String hookName) implements Outcome {
    }

    private final int width;
    private final String hookName;

    /** @param hookName the hook to train on, or null to accept every hook in the topic */
    BlockValidator(int width, String hookName) {
        this.width = width;
        this.hookName = hookName;
    }

    Outcome check(InputRecord record) {
        ActivationBlock block;
        try {
            block = RecordCodec.ACTIVATION_BLOCK.decode(record.value);
        } catch (RecordDecodeException e) {
            return new Rejected(e.getMessage());
        }
        String where = "block " + block.getShardId() + "/" + block.getDocumentId() + "#" + block.getSequenceIndex();
        if (hookName != null && !hookName.equals(block.getHookName())) {
            return new Skipped(block.getHookName());
        }
        if (block.getWidth() != width) {
            return new Rejected(where + ": width " + block.getWidth() + ", expected " + width);
        }
        int rows = block.getTokenCount();
        if (rows <= 0) {
            return new Rejected(where + ": token_count " + rows);
        }
        if (!block.getTokenIds().isEmpty() && block.getTokenIds().size() != rows) {
            return new Rejected(where + ": " + block.getTokenIds().size() + " token ids for " + rows + " tokens");
        }
        DType dtype = DType.valueOf(block.getDtype().name());
        long expectedBytes = (long) rows * width * dtype.bytes();
        if (block.getData().remaining() != expectedBytes) {
            return new Rejected(where + ": data holds " + block.getData().remaining() + " bytes, expected "
                    + expectedBytes + " for " + rows + " x " + width + " " + dtype);
        }
        float[] data = TensorCodec.decode(block.getData(), dtype);
        for (int i = 0; i < data.length; i++) {
            if (!Float.isFinite(data[i])) {
                return new Rejected(where + ": non-finite value " + data[i] + " at token " + (i / width)
                        + ", dimension " + (i % width));
            }
        }
        long documentKey = TokenIdentity.documentKey(block.getShardId(), block.getDocumentId());
        long[] ids = new long[rows];
        for (int r = 0; r < rows; r++) {
            ids[r] = TokenIdentity.hashInDocument(documentKey, block.getFirstTokenPosition() + r);
        }
        return new Accepted(new TokenRows(rows, width, data, ids));
    }
}
