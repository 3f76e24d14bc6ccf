package org.saestream.spectrum;

import org.saestream.records.Topics;
import org.saestream.topics.TopicCatalog;
import org.saestream.topics.TopicSpec;

import java.io.Serializable;
import java.util.List;

/**
 * What the gradient-spectrum job does with one training run's gradient stream.
 *
 * @param run               the training run: records must carry it as key and run_id; names the Kafka group,
 *                          transactional ids and checkpoints ({@link #jobName()})
 * @param sourceTopic       where its GradientStep records are, normally {@code gradients.<run>}
 * @param sketchRows        l of the Frequent Directions sketch (64): the error bound falls as 1/l, memory and
 *                          state grow as 2l x k doubles, and a shrink (an eigen-decomposition of a 2l x 2l
 *                          matrix) happens every l + 1 steps
 * @param publishEvery      S: a SpectrumMetrics record every S accepted steps (50), and one at end of input
 * @param rankThreshold     effective rank counts singular values above this fraction of the largest (0.1)
 * @param recentSteps       R: loadings are reported for the last R steps (64); their rows are kept in state
 * @param topDirections     D: loadings on this many leading directions (3); 0 for none
 * @param maxSingularValues at most this many singular values in each record (32)
 */
public record SpectrumJobConfig(String run, String sourceTopic, int sketchRows, int publishEvery, double rankThreshold,
                                int recentSteps, int topDirections, int maxSingularValues) implements Serializable {
    public static final int DEFAULT_SKETCH_ROWS = 64;
    public static final int DEFAULT_PUBLISH_EVERY = 50;
    public static final int DEFAULT_RECENT_STEPS = 64;
    public static final int DEFAULT_TOP_DIRECTIONS = 3;
    public static final int DEFAULT_MAX_SINGULAR_VALUES = 32;
    /** Fixed, so that a restored job finds its run's state where it left it. */
    public static final int MAX_PARALLELISM = 128;

    public SpectrumJobConfig {
        Topics.requireName(run, "run");
        if (sourceTopic == null || sourceTopic.isBlank()) {
            throw new IllegalArgumentException("sourceTopic is required");
        }
        if (sketchRows < 2) {
            throw new IllegalArgumentException("sketchRows must be at least 2, got " + sketchRows);
        }
        if (publishEvery < 1) {
            throw new IllegalArgumentException("publishEvery must be at least 1, got " + publishEvery);
        }
        if (!(rankThreshold > 0 && rankThreshold < 1)) {
            throw new IllegalArgumentException("rankThreshold must be in (0, 1), got " + rankThreshold);
        }
        if (recentSteps < 1) {
            throw new IllegalArgumentException("recentSteps must be at least 1, got " + recentSteps);
        }
        if (topDirections < 0 || topDirections > sketchRows) {
            throw new IllegalArgumentException("topDirections must be in [0, sketchRows = " + sketchRows + "], got "
                    + topDirections);
        }
        if (maxSingularValues < 1) {
            throw new IllegalArgumentException("maxSingularValues must be at least 1, got " + maxSingularValues);
        }
    }

    /** The run's gradients.&lt;run&gt; topic and every default. */
    public static SpectrumJobConfig forRun(String run) {
        return new SpectrumJobConfig(run, Topics.gradients(run), DEFAULT_SKETCH_ROWS, DEFAULT_PUBLISH_EVERY,
                Spectrum.DEFAULT_RANK_THRESHOLD, DEFAULT_RECENT_STEPS, DEFAULT_TOP_DIRECTIONS,
                DEFAULT_MAX_SINGULAR_VALUES);
    }

    public SpectrumJobConfig withSketchRows(int l) {
        return new SpectrumJobConfig(run, sourceTopic, l, publishEvery, rankThreshold, recentSteps, topDirections,
                maxSingularValues);
    }

    public SpectrumJobConfig withPublishEvery(int steps) {
        return new SpectrumJobConfig(run, sourceTopic, sketchRows, steps, rankThreshold, recentSteps, topDirections,
                maxSingularValues);
    }

    public SpectrumJobConfig withRankThreshold(double threshold) {
        return new SpectrumJobConfig(run, sourceTopic, sketchRows, publishEvery, threshold, recentSteps, topDirections,
                maxSingularValues);
    }

    public SpectrumJobConfig withLoadings(int recent, int directions) {
        return new SpectrumJobConfig(run, sourceTopic, sketchRows, publishEvery, rankThreshold, recent, directions,
                maxSingularValues);
    }

    public SpectrumJobConfig withMaxSingularValues(int count) {
        return new SpectrumJobConfig(run, sourceTopic, sketchRows, publishEvery, rankThreshold, recentSteps,
                topDirections, count);
    }

    /** {@code spectrum-<run>}: the job's name, and (prefixed "saestream-") its Kafka group and transactional ids. */
    public String jobName() {
        return "spectrum-" + run;
    }

    public String deadLetterTopic() {
        return Topics.deadLetters(sourceTopic);
    }

    /** Every topic the job writes to (it creates them at start, so a cluster without auto-creation works). */
    public List<TopicSpec<?>> outputTopics() {
        return List.of(TopicCatalog.SPECTRUM, TopicCatalog.deadLetters(sourceTopic));
    }
}
