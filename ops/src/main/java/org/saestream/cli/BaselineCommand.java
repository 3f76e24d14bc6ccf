package org.saestream.cli;

import ai.djl.ndarray.NDManager;
import org.saestream.baseline.TopicRows;
import org.saestream.sae.ActivationSource;
import org.saestream.sae.LinearBaseline;
import org.saestream.sae.SaeLensFormat;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;

/**
 * `saestream baseline`: a PCA or ICA dictionary over a topic range, written as a snapshot directory so that every
 * comparison that takes an SAE (MMCS against a reference, the ensemble matrix, export) takes it too.
 */
@Command(name = "baseline", mixinStandardHelpOptions = true,
        description = "Fit a PCA or FastICA dictionary on a topic range and write it as an SAE snapshot directory.")
public final class BaselineCommand implements Callable<Integer> {
    /** The methods offered, by the name the command line takes. */
    enum Method { pca, ica }

    @ArgGroup(exclusive = false, multiplicity = "1")
    KafkaTarget cluster;

    @Option(names = "--topic", required = true, description = "The activations topic, e.g. activations.<run>")
    String topic;

    @Option(names = "--hook", description = "Blocks of this hook only (default: the first block's hook)")
    String hook;

    @Option(names = "--from", description = "Where to start: earliest, latest, an ISO-8601 time, or "
            + "partition:offset,... (default: earliest)")
    String from;

    @Option(names = "--until", description = "Where to end (exclusive): latest, an ISO-8601 time, or "
            + "partition:offset,... (default: latest, the end when the command starts)")
    String until;

    @Option(names = "--method", required = true, description = "${COMPLETION-CANDIDATES}")
    Method method;

    @Option(names = "--d-sae", description = "Directions to keep, at most d_in (default: d_in)")
    Integer dSae;

    @Option(names = "--out", required = true, description = "The snapshot directory to write (must not exist)")
    Path out;

    @Option(names = "--sample", description = "Rows kept (a uniform reservoir over the range) for FastICA and for "
            + "orienting the directions; the covariance uses every row (default: ${DEFAULT-VALUE})")
    int sample = 65_536;

    @Option(names = "--seed", description = "Reservoir and FastICA start (default: ${DEFAULT-VALUE})")
    long seed = 0;

    @Option(names = "--timeout", description = "How long to wait for records before the range's end "
            + "(default: ${DEFAULT-VALUE})")
    String timeout = "60s";

    @Override
    public Integer call() throws Exception {
        if (sample < 100) {
            throw new IllegalArgumentException("--sample must be at least 100 rows, got " + sample);
        }
        Progress clock = new Progress();
        Reservoir reservoir = new Reservoir(sample, new Random(seed));
        LinearBaseline.Moments[] moments = new LinearBaseline.Moments[1];
        TopicRows.Summary read;
        try (KafkaTarget.Connection kafka = cluster.connect(); NDManager manager = NDManager.newBaseManager()) {
            long[] lastReport = {System.nanoTime()};
            read = TopicRows.read(kafka.client(), topic, hook, from, until, Durations.parse(timeout),
                    (data, rows, block) -> {
                        int width = block.getWidth();
                        if (moments[0] == null) {
                            moments[0] = new LinearBaseline.Moments(width);
                        }
                        moments[0].add(manager, data, rows);
                        reservoir.offer(data, rows, width);
                        if (System.nanoTime() - lastReport[0] > 2_000_000_000L) {
                            lastReport[0] = System.nanoTime();
                            System.out.printf(Locale.ROOT, "[%5.1fs] read %s tokens (%.0f tokens/s)%n",
                                    clock.elapsedSeconds(), Progress.count(moments[0].count()),
                                    moments[0].count() / clock.elapsedSeconds());
                        }
                    });
            int width = read.width();
            int k = dSae != null ? dSae : width;
            System.out.printf(Locale.ROOT, "read %,d tokens of %s in %,d blocks (%d skipped) in %.1fs; fitting %s with %d"
                            + " directions of d_in %d (%,d sampled rows)%n", read.tokens(), read.hookName(), read.blocks(),
                    read.skipped(), clock.elapsedSeconds(), method, k, width, reservoir.size());
            LinearBaseline b = method == Method.pca
                    ? LinearBaseline.pca(moments[0], k, reservoir.rows(), reservoir.size(), manager)
                    : LinearBaseline.ica(moments[0], k, reservoir.rows(), reservoir.size(), seed, manager);
            String id = method + "-" + k;
            SaeLensFormat.writeNew(out, SaeLensFormat.baselineFiles(b, id, read.hookName(), read.modelId(),
                    read.tokens(), ActivationSource.UNKNOWN));
            if (method == Method.pca) {
                double total = Arrays.stream(b.variance()).sum();
                System.out.printf(Locale.ROOT, "top direction explains variance %.4g; the %d kept, %.4g in all%n",
                        b.variance()[0], k, total);
            } else {
                System.out.printf(Locale.ROOT, "FastICA converged in %d iterations%n", b.iterations());
            }
            System.out.println("wrote " + out.toAbsolutePath() + " (" + id + ", " + clock.elapsedSeconds() + " s)");
        }
        return 0;
    }

    /** A uniform sample of rows (Vitter's algorithm R), seeded. */
    private static final class Reservoir {
        private final int capacity;
        private final Random random;
        private float[] rows;
        private int width;
        private long seen;

        Reservoir(int capacity, Random random) {
            this.capacity = capacity;
            this.random = random;
        }

        void offer(float[] data, int count, int rowWidth) {
            if (rows == null) {
                width = rowWidth;
                rows = new float[Math.multiplyExact(capacity, width)];
            }
            for (int r = 0; r < count; r++) {
                long slot = seen < capacity ? seen : (long) (random.nextDouble() * (seen + 1));
                if (slot < capacity) {
                    System.arraycopy(data, r * width, rows, (int) slot * width, width);
                }
                seen++;
            }
        }

        int size() {
            return (int) Math.min(seen, capacity);
        }

        float[] rows() {
            return rows;
        }
    }
}
