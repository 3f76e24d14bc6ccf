package org.saestream.jobs;

import org.saestream.flink.InputRecord;
import org.saestream.records.ActivationBlock;
import org.saestream.records.RecordCodec;
import org.saestream.records.RecordDecodeException;
import org.saestream.records.TokenIdentity;
import org.saestream.tensor.DType;
import org.saestream.tensor.TensorCodec;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Decides what happens to one input record: its tokens are accepted, it is rejected with a reason
 * (dead-letter topic), or it belongs to another hook and is skipped.
 */
final class BlockValidator {
    sealed interface Outcome permits Accepted, Rejected, Skipped {
    }

    /** @param routes the groups that train on these rows, and what the rows are to each */
    record Accepted(TokenRows rows, List<Route> routes) implements Outcome {
        List<String> groupKeys() {
            return routes.stream().map(Route::groupKey).toList();
        }
    }

    record Route(String groupKey, RowSide side) {
    }

    record Rejected(String reason) implements Outcome {
    }

    record Skipped(String hookName) implements Outcome {
    }

    private final List<SaeGroup> groups;

    BlockValidator(List<SaeGroup> groups) {
        this.groups = List.copyOf(groups);
    }

    Outcome check(InputRecord record) {
        ActivationBlock block;
        try {
            block = RecordCodec.ACTIVATION_BLOCK.decode(record.value);
        } catch (RecordDecodeException e) {
            return new Rejected(e.getMessage());
        }
        String where = "block " + block.getShardId() + "/" + block.getDocumentId() + "#" + block.getSequenceIndex();
        String hook = block.getHookName();
        List<SaeGroup> forHook = groups.stream().filter(g -> g.takes(hook)).toList();
        if (forHook.isEmpty()) {
            return new Skipped(hook);
        }
        int width = block.getWidth();
        List<Route> routes = forHook.stream().filter(g -> g.widthOf(g.sideOf(hook)) == width)
                .map(g -> new Route(g.key(), g.sideOf(hook))).toList();
        if (routes.isEmpty()) {
            return new Rejected(where + " (" + hook + "): width " + width + ", expected " + forHook.stream()
                    .map(g -> String.valueOf(g.widthOf(g.sideOf(hook)))).distinct().collect(Collectors.joining(" or ")));
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
        List<Integer> tokenIdList = block.getTokenIds();
        int[] tokenIds = new int[tokenIdList.size()];
        for (int r = 0; r < tokenIds.length; r++) {
            tokenIds[r] = tokenIdList.get(r);
        }
        BlockOrigin origin = new BlockOrigin(record.topic, record.partition, record.offset, block.getModelId().toString(),
                block.getShardId().toString(), block.getDocumentId(), block.getSequenceIndex(),
                block.getFirstTokenPosition(), tokenIds);
        return new Accepted(new TokenRows(rows, width, data, ids, origin), routes);
    }
}
