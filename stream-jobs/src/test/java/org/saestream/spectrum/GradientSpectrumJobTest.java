package org.saestream.spectrum;

import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;
import org.saestream.flink.InputRecord;
import org.saestream.flink.OutboundRecord;
import org.saestream.records.RecordCodec;
import org.saestream.records.SpectrumMetrics;
import org.saestream.records.Topics;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The job's topology on a local MiniCluster (about 7 s to start on 2 cores, 1 s to run), from an
 * in-memory bounded source to collected records: stream types, keying and the end-of-input timer.
 */
class GradientSpectrumJobTest {
    @Test
    void aBoundedStreamEndsWithASpectrumOfEveryStep() throws Exception {
        int k = 32;
        float[][] rows = ExactSvd.rows(new Random(9), 23, ExactSvd.unitVectors(new Random(10), 3, k),
                new double[] {2, 1, 0.5}, null, 1e-3);
        List<InputRecord> input = new ArrayList<>();
        for (int i = 0; i < rows.length; i++) {
            input.add(TestGradients.good(i, i + 1, rows[i]));
        }
        input.add(TestGradients.record(99, TestGradients.RUN, new byte[] {9}));
        SpectrumJobConfig config = SpectrumJobConfig.forRun(TestGradients.RUN).withSketchRows(4).withPublishEvery(10);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        List<SpectrumMetrics> metrics = new ArrayList<>();
        int deadLetters = 0;
        try (CloseableIterator<OutboundRecord> out = GradientSpectrumJob.build(env.fromData(input), config)
                .executeAndCollect("spectrum-test")) {
            while (out.hasNext()) {
                OutboundRecord r = out.next();
                if (r.topic.equals(Topics.SPECTRUM)) {
                    metrics.add(RecordCodec.SPECTRUM_METRICS.decode(r.value));
                } else {
                    assertEquals(config.deadLetterTopic(), r.topic);
                    deadLetters++;
                }
            }
        }
        assertEquals(List.of(10L, 20L, 23L), metrics.stream().map(SpectrumMetrics::getStepsSeen).toList(),
                "every 10 steps, and the rest at end of input");
        assertEquals(1, deadLetters);
        assertEquals(3, metrics.get(2).getEffectiveRank());
    }
}
