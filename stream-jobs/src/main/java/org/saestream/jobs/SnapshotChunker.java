package org.saestream.jobs;

import org.saestream.records.SaeSnapshot;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Cuts the files of one snapshot into SaeSnapshot records no larger than a chunk. */
final class SnapshotChunker {
    private SnapshotChunker() {
    }

    static String snapshotId(long tokensSeen) {
        return String.format("tokens-%012d", tokensSeen);
    }

    static List<SaeSnapshot> chunks(String experiment, String saeId, long tokensSeen, long step,
                                    Map<String, byte[]> files, int chunkBytes, Instant time) {
        List<SaeSnapshot> out = new ArrayList<>();
        int fileIndex = 0;
        for (Map.Entry<String, byte[]> file : files.entrySet()) {
            byte[] bytes = file.getValue();
            int chunkCount = Math.max(1, (bytes.length + chunkBytes - 1) / chunkBytes);
            for (int c = 0; c < chunkCount; c++) {
                int from = c * chunkBytes;
                int to = Math.min(bytes.length, from + chunkBytes);
                out.add(SaeSnapshot.newBuilder()
                        .setExperiment(experiment).setSaeId(saeId).setSnapshotId(snapshotId(tokensSeen))
                        .setTokensSeen(tokensSeen).setStep(step)
                        .setFileName(file.getKey()).setFileIndex(fileIndex).setFileCount(files.size())
                        .setChunkIndex(c).setChunkCount(chunkCount).setFileSize(bytes.length)
                        .setData(ByteBuffer.wrap(bytes, from, to - from).slice())
                        .setTimeMs(time)
                        .build());
            }
            fileIndex++;
        }
        return out;
    }
}
