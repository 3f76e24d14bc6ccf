package org.saestream.testing;

import org.saestream.records.ActivationBlock;
import org.saestream.records.GradientStep;
import org.saestream.records.SaeMetrics;
import org.saestream.records.SaeSnapshot;
import org.saestream.records.SketchMethod;
import org.saestream.records.TensorDtype;
import org.saestream.tensor.DType;
import org.saestream.tensor.TensorCodec;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Well-formed records with every required field set, for the tests of every module. */
public final class SampleRecords {
    private SampleRecords() {
    }

    public static SaeMetrics metrics(String experiment, String sae, long step, double mse) {
        return SaeMetrics.newBuilder().setExperiment(experiment).setSaeId(sae).setArchitecture("relu-l1")
                .setHookName("blocks.3.hook_resid_post").setDIn(64).setDSae(512).setStep(step)
                .setTokensSeen(step * 1024).setTokensBuffered(7).setTokenChecksum(-42L).setRecordsRejected(1)
                .setMse(mse).setFvu(0.2).setL0(5.5).setL1(1.25).setLoss(mse + 1).setDeadFraction(0.01)
                .setDenseFraction(0).setDeadWindowTokens(10_000_000).setLearningRate(4e-3)
                .setTimeMs(Instant.ofEpochMilli(1000 + step)).build();
    }

    /** One file of a snapshot cut into chunks of {@code chunk} bytes (at least one chunk, as upstream). */
    public static List<SaeSnapshot> snapshotChunks(String experiment, String sae, String snapshotId, String name,
                                                   int fileIndex, int fileCount, byte[] bytes, int chunk) {
        List<SaeSnapshot> out = new ArrayList<>();
        int count = Math.max(1, (bytes.length + chunk - 1) / chunk);
        for (int c = 0; c < count; c++) {
            int from = c * chunk;
            int to = Math.min(bytes.length, from + chunk);
            out.add(SaeSnapshot.newBuilder().setExperiment(experiment).setSaeId(sae).setSnapshotId(snapshotId)
                    .setTokensSeen(1024).setStep(1).setFileName(name).setFileIndex(fileIndex).setFileCount(fileCount)
                    .setChunkIndex(c).setChunkCount(count).setFileSize(bytes.length)
                    .setData(ByteBuffer.wrap(bytes, from, to - from).slice()).setTimeMs(Instant.EPOCH).build());
        }
        return out;
    }

    /** A snapshot of one file in one chunk. */
    public static SaeSnapshot snapshotChunk(String experiment, String sae, String snapshotId, String fileName,
                                           byte[] data) {
        return snapshotChunks(experiment, sae, snapshotId, fileName, 0, 1, data, Math.max(1, data.length)).get(0);
    }

    /** One block of float32 rows: {@code tokenIds.size()} tokens of width {@code data.length / tokens}. */
    public static ActivationBlock block(String hook, List<Integer> tokenIds, float[] data) {
        return ActivationBlock.newBuilder()
                .setRunId("r").setModelId("m").setHookName(hook).setShardId("s").setDocumentId(0)
                .setSequenceIndex(0).setFirstTokenPosition(0).setTokenCount(tokenIds.size())
                .setWidth(data.length / tokenIds.size()).setDtype(TensorDtype.F32).setTokenIds(tokenIds)
                .setData(ByteBuffer.wrap(TensorCodec.encode(data, DType.F32)))
                .setProducerId("p").setTimeMs(Instant.EPOCH).build();
    }

    public static GradientStep.Builder gradientStep(String run, long step, float[] sketch) {
        return GradientStep.newBuilder().setRunId(run).setModelId("m").setStep(step).setTokensSeen(step * 16)
                .setLoss(1.0).setLearningRate(1e-3).setSketchMethod(SketchMethod.GAUSSIAN).setSketchSeed(0)
                .setSketchWidth(sketch.length).setParameterCount(100)
                .setSketch(ByteBuffer.wrap(TensorCodec.encode(sketch, DType.F32))).setGradientNorm(1.0)
                .setTensorNames(List.of("w")).setTensorNorms(List.of(1.0)).setTimeMs(Instant.EPOCH);
    }
}
