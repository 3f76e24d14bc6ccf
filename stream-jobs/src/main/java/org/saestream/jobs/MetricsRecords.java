package org.saestream.jobs;

import org.saestream.flink.OutboundRecord;
import org.saestream.records.SaeMetrics;
import org.saestream.sae.DictionaryComparison;
import org.saestream.sae.DriftReport;
import org.saestream.sae.MatryoshkaBatchTopK;
import org.saestream.sae.SaeConfig;
import org.saestream.sae.SaeTrainer;
import org.saestream.sae.StepResult;
import org.saestream.topics.TopicCatalog;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Builds the SaeMetrics record of one SAE from its trainer, last step and the group's counters. */
final class MetricsRecords {
    /** log10 density bins of 0.5 from -10 (never fired, SAELens' epsilon) to 0 */
    static final int DENSITY_BINS = 20;

    private final SaeJobConfig config;

    MetricsRecords(SaeJobConfig config) {
        this.config = config;
    }

    /** The pass over the range being trained and what of it each SAE has trained ({@code replay --epochs}). */
    record Epoch(int epoch, long tokens, long checksum) {
    }

    /** A transcoder group's halves waiting for their partners, and let go unpaired. */
    record Pairing(long waiting, long dropped) {
        static final Pairing NONE = new Pairing(0, 0);
    }

    /** @param epoch null before the first record */
    OutboundRecord record(SaeTrainer trainer, StepResult last, long tokensBuffered, long tokenChecksum, Epoch epoch,
                          long recordsRejected, DictionaryComparison.Comparison vsReference, Pairing pairing) {
        SaeConfig sae = trainer.config();
        var stats = trainer.statistics();
        DriftReport drift = trainer.drift();
        SaeMetrics.Builder m = SaeMetrics.newBuilder()
                .setExperiment(config.experiment()).setSaeId(sae.saeId())
                .setArchitecture(sae.architecture().saeLensName())
                .setHookName(sae.hookName())
                .setDIn(sae.dIn()).setDSae(sae.dSae())
                .setStep(trainer.steps()).setTokensSeen(trainer.tokensSeen())
                .setTokensBuffered(tokensBuffered).setTokenChecksum(tokenChecksum)
                .setRecordsRejected(recordsRejected)
                .setDeadFraction(stats.deadFraction()).setDenseFraction(stats.denseFraction())
                .setDeadWindowTokens(sae.deadWindowTokens())
                .setLearningRate(sae.learningRate())
                .setActivationScale(trainer.activationScale())
                .setLog10DensityHistogram(densityHistogram(stats.log10Density()))
                .setWindowIndex(drift.windowIndex())
                .setWindowTokens(sae.options().driftWindowTokens())
                .setDriftLookback(sae.options().driftLookback())
                .setSelfSimilarityMean(finiteOrNull(drift.meanPrevious()))
                .setSelfSimilarityLookbackMean(finiteOrNull(drift.meanLookback()))
                .setSelfSimilarityHistogram(boxed(drift.histogramPrevious()))
                .setFeaturesReachedHighThenFell(drift.reachedHighThenFell())
                .setFeaturesFrozen(drift.frozenCount())
                .setFeaturesResampled(trainer.resampledTotal())
                .setFinished(trainer.finished())
                .setHalvesPending(pairing.waiting()).setHalvesDropped(pairing.dropped())
                .setTimeMs(Instant.now());
        if (sae.isTranscoder()) {
            m.setHookNameOut(sae.hookNameOut()).setDOut(sae.dOut());
        }
        if (epoch != null) {
            m.setEpoch(epoch.epoch()).setEpochTokensSeen(epoch.tokens()).setEpochTokenChecksum(epoch.checksum());
        }
        if (vsReference != null) {
            m.setReferenceMmcs(vsReference.mmcs()).setReferenceFractionAbove(vsReference.fractionAbove());
        }
        trainer.lineage().ifPresent(l -> m.setLineageCounts(Arrays.stream(l.counts()).boxed().toList()));
        if (sae.architecture() instanceof MatryoshkaBatchTopK matryoshka) {
            m.setMatryoshkaWidths(matryoshka.widths());
        }
        if (last != null) {
            m.setMse(last.mse()).setFvu(last.fvu()).setL0(last.l0()).setL1(last.l1()).setLoss(last.loss());
            m.setMatryoshkaPrefixFvu(last.prefixFvu());
        } else {
            m.setMse(Double.NaN).setFvu(Double.NaN).setL0(Double.NaN).setL1(Double.NaN).setLoss(Double.NaN);
        }
        return OutboundRecord.of(TopicCatalog.SAE_METRICS, config.saeKey(sae.saeId()), m.build());
    }

    static List<Long> densityHistogram(float[] log10Density) {
        long[] bins = new long[DENSITY_BINS];
        for (float v : log10Density) {
            int bin = (int) Math.floor((v + 10.0) / (10.0 / DENSITY_BINS));
            bins[Math.max(0, Math.min(DENSITY_BINS - 1, bin))]++;
        }
        return boxed(bins);
    }

    private static List<Long> boxed(long[] values) {
        List<Long> out = new ArrayList<>(values.length);
        for (long v : values) {
            out.add(v);
        }
        return out;
    }

    private static Double finiteOrNull(double v) {
        return Double.isFinite(v) ? v : null;
    }
}
