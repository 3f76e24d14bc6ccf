package org.saestream.spectrum;

import org.apache.flink.configuration.MemorySize;
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
 * @param sketchRows        l of the Frequent Directions sketch, or {@link #AUTO_SKETCH_ROWS} (the default) for the
 *                          largest l up to {@link #MAX_AUTO_SKETCH_ROWS} that fits {@code sketchMemoryBytes} at the
 *                          run's sketch width ({@link #sketchRowsFor}): the sketch is exact until 2l steps, its
 *                          error bound falls as 1/l after, and a shrink (an eigen-decomposition of a 2l x 2l matrix)
 *                          happens every l + 1 steps
 * @param sketchMemoryBytes the bound on one run's sketch ({@link FrequentDirections#bytesAtMost}): 256 MiB; a run
 *                          whose width cannot fit even l = 2 in it is dead-lettered
 * @param publishEvery      S: a SpectrumMetrics record every S accepted steps (50), and one at end of input
 * @param rankThreshold     effective rank counts singular values above this fraction of the largest (0.1)
 * @param recentSteps       R: the windows, the first R and the last R accepted steps, whose exact spectra (with and
 *                          without their mean) are published next to the sketch's (256); loadings are reported for the
 *                          last R steps; both windows' rows are kept in state
 * @param topDirections     D: loadings on this many leading directions (3); 0 for none
 * @param maxSingularValues at most this many singular values in each record (32)
 */
public record SpectrumJobConfig(String run, String sourceTopic, int sketchRows, long sketchMemoryBytes,
                                int publishEvery, double rankThreshold, int recentSteps, int topDirections,
                                int maxSingularValues) implements Serializable {
    /** {@code sketchRows} meaning: as many as the memory bound allows, up to {@link #MAX_AUTO_SKETCH_ROWS}. */
    public static final int AUTO_SKETCH_ROWS = 0;
    /**
     * The automatic l's ceiling: a 2048-row buffer holds a 2000-step run exactly, and a spectrum of that many rows
     * costs seconds, a shrink about ten on one core ({@link SymmetricEigen}: EJML took 11 s for the eigenvectors of a
     * 2000 x 2000 matrix); beyond it the cost grows as l^3.
     */
    public static final int MAX_AUTO_SKETCH_ROWS = 1024;
    public static final long DEFAULT_SKETCH_MEMORY_BYTES = 256L << 20;
    public static final int DEFAULT_PUBLISH_EVERY = 50;
    public static final int DEFAULT_RECENT_STEPS = 256;
    public static final int DEFAULT_TOP_DIRECTIONS = 3;
    public static final int DEFAULT_MAX_SINGULAR_VALUES = 32;
    /** Fixed, so that a restored job finds its run's state where it left it. */
    public static final int MAX_PARALLELISM = 128;

    public SpectrumJobConfig {
        Topics.requireName(run, "run");
        if (sourceTopic == null || sourceTopic.isBlank()) {
            throw new IllegalArgumentException("sourceTopic is required");
        }
        if (sketchRows != AUTO_SKETCH_ROWS && sketchRows < 2) {
            throw new IllegalArgumentException("sketchRows must be at least 2 (or auto), got " + sketchRows);
        }
        if (sketchMemoryBytes < FrequentDirections.bytesAtMost(2, 1)) {
            throw new IllegalArgumentException("sketchMemoryBytes must be at least "
                    + FrequentDirections.bytesAtMost(2, 1) + ", got " + sketchMemoryBytes);
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
        if (topDirections < 0 || (sketchRows != AUTO_SKETCH_ROWS && topDirections > sketchRows)) {
            throw new IllegalArgumentException("topDirections must be in [0, sketchRows = " + sketchRows + "], got "
                    + topDirections);
        }
        if (maxSingularValues < 1) {
            throw new IllegalArgumentException("maxSingularValues must be at least 1, got " + maxSingularValues);
        }
    }

    /** The run's gradients.&lt;run&gt; topic and every default. */
    public static SpectrumJobConfig forRun(String run) {
        return new SpectrumJobConfig(run, Topics.gradients(run), AUTO_SKETCH_ROWS, DEFAULT_SKETCH_MEMORY_BYTES,
                DEFAULT_PUBLISH_EVERY, Spectrum.DEFAULT_RANK_THRESHOLD, DEFAULT_RECENT_STEPS, DEFAULT_TOP_DIRECTIONS,
                DEFAULT_MAX_SINGULAR_VALUES);
    }

    /**
     * l for rows of {@code width}: the configured one, or (auto) the largest up to {@link #MAX_AUTO_SKETCH_ROWS}
     * within the memory bound; 0 when not even l = 2 fits.
     */
    public int sketchRowsFor(int width) {
        long l = sketchRows;
        if (sketchRows == AUTO_SKETCH_ROWS) {
            // the root of 16 l (k + l) = bound, then down past rounding
            l = (long) ((-width + Math.sqrt((double) width * width + sketchMemoryBytes / 4.0)) / 2);
            l = Math.max(2, Math.min(MAX_AUTO_SKETCH_ROWS, l + 1));
            while (l > 2 && FrequentDirections.bytesAtMost((int) l, width) > sketchMemoryBytes) {
                l--;
            }
        }
        return FrequentDirections.bytesAtMost((int) l, width) <= sketchMemoryBytes ? (int) l : 0;
    }

    public SpectrumJobConfig withSketchRows(int l) {
        return new SpectrumJobConfig(run, sourceTopic, l, sketchMemoryBytes, publishEvery, rankThreshold, recentSteps,
                topDirections, maxSingularValues);
    }

    /**
     * The sketch's size as a command line gives it: {@code rows} "auto" or l, {@code memory} a Flink memory size
     * ("256mb", "1g"); a bad value fails naming the option.
     */
    public SpectrumJobConfig withSketch(String rows, String memory) {
        int l;
        if (rows.equalsIgnoreCase("auto")) {
            l = AUTO_SKETCH_ROWS;
        } else {
            try {
                l = Integer.parseInt(rows.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--sketch-rows must be 'auto' or a whole number, got '" + rows + "'");
            }
        }
        long bytes;
        try {
            bytes = MemorySize.parseBytes(memory);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--sketch-memory must be a memory size such as 256mb or 1g, got '"
                    + memory + "'");
        }
        return withSketchRows(l).withSketchMemory(bytes);
    }

    public SpectrumJobConfig withSketchMemory(long bytes) {
        return new SpectrumJobConfig(run, sourceTopic, sketchRows, bytes, publishEvery, rankThreshold, recentSteps,
                topDirections, maxSingularValues);
    }

    public SpectrumJobConfig withPublishEvery(int steps) {
        return new SpectrumJobConfig(run, sourceTopic, sketchRows, sketchMemoryBytes, steps, rankThreshold,
                recentSteps, topDirections, maxSingularValues);
    }

    public SpectrumJobConfig withRankThreshold(double threshold) {
        return new SpectrumJobConfig(run, sourceTopic, sketchRows, sketchMemoryBytes, publishEvery, threshold,
                recentSteps, topDirections, maxSingularValues);
    }

    public SpectrumJobConfig withLoadings(int recent, int directions) {
        return new SpectrumJobConfig(run, sourceTopic, sketchRows, sketchMemoryBytes, publishEvery, rankThreshold,
                recent, directions, maxSingularValues);
    }

    public SpectrumJobConfig withMaxSingularValues(int count) {
        return new SpectrumJobConfig(run, sourceTopic, sketchRows, sketchMemoryBytes, publishEvery, rankThreshold,
                recentSteps, topDirections, count);
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
