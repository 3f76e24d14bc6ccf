package org.saestream.jobs;

import org.saestream.flink.InputRecord;
import org.saestream.records.ActivationBlock;
import org.saestream.records.RecordCodec;
import org.saestream.records.TensorDtype;
import org.saestream.records.TokenIdentity;
import org.saestream.tensor.DType;
import org.saestream.tensor.TensorCodec;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.SplittableRandom;

/** Activation blocks for tests: random sparse-ish data with known token identities. */
final class TestBlocks {
    static final String TOPIC = "activations.test";
    static final String SHARD = "shard-t";

    private TestBlocks() {
    }

    static float[] randomRows(long seed, int rows, int width) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] data = new float[rows * width];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) (r.nextDouble() < 0.2 ? r.nextDouble() * 2 : 0);
        }
        return data;
    }

    static ActivationBlock block(long documentId, int rows, int width, float[] data, String hook) {
        return ActivationBlock.newBuilder()
                .setRunId("test").setModelId("m").setHookName(hook).setShardId(SHARD).setDocumentId(documentId)
                .setSequenceIndex(0).setFirstTokenPosition(0).setTokenCount(rows).setWidth(width)
                .setDtype(TensorDtype.F32).setTokenIds(List.of())
                .setData(ByteBuffer.wrap(TensorCodec.encode(data, DType.F32)))
                .setProducerId("p").setTimeMs(Instant.EPOCH).build();
    }

    static InputRecord record(long offset, byte[] value) {
        return new InputRecord(TOPIC, 0, offset, ("k" + offset).getBytes(), value, 0L);
    }

    static InputRecord good(long documentId, int rows, int width) {
        return record(documentId, RecordCodec.ACTIVATION_BLOCK.encode(
                block(documentId, rows, width, randomRows(documentId, rows, width), "h")));
    }

    static long checksum(long documentId, int rows) {
        long sum = 0;
        for (int t = 0; t < rows; t++) {
            sum += TokenIdentity.hash(SHARD, documentId, t);
        }
        return sum;
    }
}
