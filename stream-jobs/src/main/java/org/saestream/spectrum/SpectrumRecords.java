package org.saestream.spectrum;

import org.saestream.records.DirectionLoadings;
import org.saestream.records.SpectrumMetrics;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The SpectrumMetrics record of a run's sketch at one moment. */
final class SpectrumRecords {
    private SpectrumRecords() {
    }

    /**
     * Uncentered and centered spectra with their effective ranks, the bound Delta that holds for both,
     * and for the leading directions of the uncentered sketch the loading (row . direction) of each
     * recent step, oldest first; the exact ranks of the early window (given) and of the late one (the recent steps).
     */
    static SpectrumMetrics metrics(String run, SpectrumSketch sketch, RecentSteps recent, SpectrumCounters counts,
                                   SpectrumJobConfig config, WindowRanks early, Instant now) {
        Spectrum plain = sketch.spectrum(config.topDirections());
        Spectrum centered = sketch.centeredSpectrum();
        List<DirectionLoadings> loadings = new ArrayList<>();
        List<Long> steps = recent.stepsOldestFirst();
        WindowRanks late = WindowRanks.of(steps, recent.rowsOldestFirst(), config.rankThreshold());
        for (int d = 0; d < plain.directions().length; d++) {
            loadings.add(DirectionLoadings.newBuilder()
                    .setIndex(d)
                    .setSteps(steps)
                    .setLoadings(recent.loadings(plain.directions()[d]))
                    .build());
        }
        return SpectrumMetrics.newBuilder()
                .setRunId(run)
                .setStep(counts.lastStep)
                .setStepsSeen(counts.rowsSeen).setRecordsRejected(counts.recordsRejected)
                .setSketchRows(sketch.sketchRows())
                .setWidth(sketch.width())
                .setSingularValues(list(plain.leading(config.maxSingularValues())))
                .setEffectiveRank(plain.effectiveRank(config.rankThreshold()))
                .setRankThreshold(config.rankThreshold())
                .setCenteredSingularValues(list(centered.leading(config.maxSingularValues())))
                .setCenteredEffectiveRank(centered.effectiveRank(config.rankThreshold()))
                .setErrorBound(sketch.errorBound())
                .setWindowSteps(config.recentSteps())
                .setEarlyFirstStep(early.firstStep()).setEarlyLastStep(early.lastStep())
                .setEarlyEffectiveRank(early.rank()).setEarlyCenteredEffectiveRank(early.centeredRank())
                .setLateFirstStep(late.firstStep()).setLateLastStep(late.lastStep())
                .setLateEffectiveRank(late.rank()).setLateCenteredEffectiveRank(late.centeredRank())
                .setTopDirections(loadings)
                .setTimeMs(now)
                .build();
    }

    private static List<Double> list(double[] values) {
        return Arrays.stream(values).boxed().toList();
    }
}
