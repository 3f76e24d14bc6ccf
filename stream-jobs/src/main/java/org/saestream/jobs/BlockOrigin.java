package org.saestream.jobs;

/**
 * Where accepted rows came from: the Kafka record and the block's place in its document, with the
 * block's token ids. Lets a feature example point back at its source and show its context. A Flink
 * POJO, carried on {@link TokenRows} (null on rows that lost their block, e.g. inside the mixing buffer).
 */
public class BlockOrigin {
    public String sourceTopic;
    public int sourcePartition;
    public long sourceOffset;
    public String modelId;
    public String shardId;
    public long documentId;
    public int sequenceIndex;
    /** document position of the block's first row */
    public long firstTokenPosition;
    /** one id per row, or empty for sources without a vocabulary (null only on {@link #withoutTokens()} copies) */
    public int[] tokenIds;

    public BlockOrigin() {
    }

    public BlockOrigin(String sourceTopic, int sourcePartition, long sourceOffset, String modelId, String shardId,
                       long documentId, int sequenceIndex, long firstTokenPosition, int[] tokenIds) {
        this.sourceTopic = sourceTopic;
        this.sourcePartition = sourcePartition;
        this.sourceOffset = sourceOffset;
        this.modelId = modelId;
        this.shardId = shardId;
        this.documentId = documentId;
        this.sequenceIndex = sequenceIndex;
        this.firstTokenPosition = firstTokenPosition;
        this.tokenIds = tokenIds;
    }

    /** The same reference without the token ids (what an example keeps once its context is cut out). */
    BlockOrigin withoutTokens() {
        return new BlockOrigin(sourceTopic, sourcePartition, sourceOffset, modelId, shardId, documentId, sequenceIndex,
                firstTokenPosition, null);
    }

    @Override
    public String toString() {
        return sourceTopic + "-" + sourcePartition + "@" + sourceOffset + " (" + shardId + "/" + documentId + "#"
                + sequenceIndex + ")";
    }
}
