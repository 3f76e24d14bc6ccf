package org.saestream.jobs;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.saestream.flink.OutboundRecord;
import org.saestream.records.DictionaryPair;
import org.saestream.records.SaeComparison;
import org.saestream.sae.DictionaryMatching;
import org.saestream.sae.SaeConfig;
import org.saestream.topics.TopicCatalog;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Compares the dictionaries of an ensemble at each drift-window boundary: once every member training
 * on one hook has sent its decoder for window w, publishes per pair the MMCS both ways, the fraction
 * above the threshold and the mean cosine of a one-to-one matching. Keyed by hook; SAEs that met their
 * stop rule drop out of later windows. Decoders wait in RocksDB state, so a restore loses none.
 */
final class EnsembleComparisonFunction extends KeyedProcessFunction<String, DecoderAtBoundary, OutboundRecord> {
    private final SaeJobConfig config;
    /** "window|saeId" → decoder that arrived for that window */
    private transient MapState<String, DecoderAtBoundary> pending;
    /** saeId → the window at which it finished */
    private transient MapState<String, Long> finishedAt;
    /** hook key → its SAEs in experiment-file order, from the group plan once */
    private transient Map<String, List<String>> membersByHook;

    EnsembleComparisonFunction(SaeJobConfig config) {
        this.config = config;
    }

    @Override
    public void open(OpenContext openContext) {
        pending = getRuntimeContext().getMapState(new MapStateDescriptor<>("pending-decoders", Types.STRING,
                TypeInformation.of(DecoderAtBoundary.class)));
        finishedAt = getRuntimeContext().getMapState(new MapStateDescriptor<>("finished-at", Types.STRING, Types.LONG));
        Map<String, String> hookOf = new HashMap<>();
        for (SaeGroup g : config.groups()) {
            g.members().forEach(sae -> hookOf.put(sae.saeId(), DecoderAtBoundary.hookKey(g.hookName())));
        }
        membersByHook = new HashMap<>();
        for (SaeConfig sae : config.saes()) { // experiment-file order
            membersByHook.computeIfAbsent(hookOf.get(sae.saeId()), k -> new ArrayList<>()).add(sae.saeId());
        }
    }

    /** The SAEs of the experiment that train on this hook key, in experiment-file order. */
    private List<String> members(String hookKey) {
        return membersByHook.getOrDefault(hookKey, List.of());
    }

    @Override
    public void processElement(DecoderAtBoundary d, Context ctx, Collector<OutboundRecord> out) throws Exception {
        List<String> members = members(d.hookKey);
        if (members.size() < 2) {
            return; // nothing to compare with
        }
        pending.put(d.windowIndex + "|" + d.saeId, d);
        if (d.finished && d.windowIndex != DecoderAtBoundary.END_OF_STREAM && !finishedAt.contains(d.saeId)) {
            finishedAt.put(d.saeId, d.windowIndex);
        }
        List<DecoderAtBoundary> arrived = new ArrayList<>();
        for (String id : members) {
            Long finished = finishedAt.get(id);
            boolean expected = d.windowIndex == DecoderAtBoundary.END_OF_STREAM || finished == null
                    || finished >= d.windowIndex;
            DecoderAtBoundary got = pending.get(d.windowIndex + "|" + id);
            if (got != null) {
                arrived.add(got);
            } else if (expected) {
                return; // still waiting for a member
            }
        }
        for (DecoderAtBoundary a : arrived) {
            pending.remove(d.windowIndex + "|" + a.saeId);
        }
        if (arrived.size() >= 2) {
            out.collect(comparison(ctx.getCurrentKey(), d.windowIndex, arrived));
        }
    }

    private OutboundRecord comparison(String hookKey, long window, List<DecoderAtBoundary> decoders) {
        double threshold = config.comparisonThreshold();
        List<DictionaryPair> pairs = new ArrayList<>();
        for (int i = 0; i < decoders.size(); i++) {
            for (int j = i + 1; j < decoders.size(); j++) {
                DecoderAtBoundary a = decoders.get(i);
                DecoderAtBoundary b = decoders.get(j);
                var cos = DictionaryMatching.maxCosine(a.decoder, b.decoder, a.dIn, threshold);
                Double matched = Math.max(a.dSae, b.dSae) <= config.matchingMaxFeatures()
                        ? DictionaryMatching.match(a.decoder, b.decoder, a.dIn).meanCosine() : null;
                pairs.add(DictionaryPair.newBuilder().setA(a.saeId).setB(b.saeId)
                        .setMmcsAToB(cos.mmcsAToB()).setMmcsBToA(cos.mmcsBToA())
                        .setFractionAAbove(cos.fractionAboveAToB()).setFractionBAbove(cos.fractionAboveBToA())
                        .setMatchedMean(matched).build());
            }
        }
        SaeComparison record = SaeComparison.newBuilder()
                .setExperiment(config.experiment()).setHookName(hookKey).setWindowIndex(window)
                .setTokensSeen(decoders.stream().mapToLong(x -> x.tokensSeen).max().orElse(0))
                .setSaeIds(decoders.stream().map(x -> x.saeId).toList())
                .setPairs(pairs).setThreshold(threshold).setTimeMs(Instant.now()).build();
        return OutboundRecord.of(TopicCatalog.SAE_COMPARISONS, config.experiment(), record);
    }
}
