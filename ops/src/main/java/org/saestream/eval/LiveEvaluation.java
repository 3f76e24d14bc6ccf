package org.saestream.eval;

import ai.djl.ndarray.NDManager;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.saestream.corpus.CorpusShard;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.LanguageModel;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeEval;
import org.saestream.records.Topics;
import org.saestream.sae.InferenceSae;
import org.saestream.topics.KafkaClientConfig;
import org.saestream.topics.ProducerSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The live evaluation stage: every snapshot the sink publishes under {@code <root>/<experiment>/<sae>/tokens-N} is
 * spliced into the model on the same held-out text ({@link SplicedEvaluation}), and its figures go to
 * {@code sae-evals} keyed by experiment:sae, where the sink keeps them for the API and the dashboard. Forward passes
 * only, so it may share the JVM (and the model) with a producer. Each snapshot is evaluated once per stage (one that
 * cannot be is logged and left); a snapshot directory is complete when it is listed (the sink publishes it by an
 * atomic rename). Newest first: a stage that falls behind the stream (an evaluation costs more than a drift window
 * of training on a small machine) shows the latest figure and fills in the older ones as it catches up. What every
 * evaluation at one hook shares (clean and ablated losses) is computed once ({@link SplicedEvaluation.Baseline}).
 */
public final class LiveEvaluation implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LiveEvaluation.class);

    private final Path root;
    private final String experiment;
    private final LanguageModel lm;
    private final HfTokenizer tokenizer;
    private final List<CorpusShard> heldOut;
    private final SplicedEvaluation.Settings settings;
    private final KafkaProducer<byte[], byte[]> producer;
    private final Set<Path> done = new HashSet<>();
    /** Per hook, what every SAE's evaluation there shares (computed at the first snapshot of that hook). */
    private final Map<String, SplicedEvaluation.Baseline> baselines = new HashMap<>();
    private volatile SaeEval latest;

    /**
     * @param root    the sink's snapshot root
     * @param heldOut the text every snapshot is evaluated on (keep it out of training)
     */
    public LiveEvaluation(Path root, String experiment, LanguageModel lm, HfTokenizer tokenizer,
                          List<CorpusShard> heldOut, SplicedEvaluation.Settings settings, KafkaClientConfig kafka) {
        this.root = root;
        this.experiment = experiment;
        this.lm = lm;
        this.tokenizer = tokenizer;
        this.heldOut = List.copyOf(heldOut);
        this.settings = settings;
        this.producer = new KafkaProducer<>(ProducerSettings.reliable(kafka));
    }

    /** Evaluates every snapshot not evaluated yet, newest first per SAE, and publishes each; returns how many. */
    public int evaluatePending() throws Exception {
        return evaluate(pending());
    }

    /** Evaluates the newest snapshot of each SAE if it is not evaluated yet, and leaves the older ones; returns how many. */
    public int evaluateNewest() throws Exception {
        Map<Path, Path> newest = new java.util.LinkedHashMap<>();
        for (Path snapshot : snapshots()) {
            newest.putIfAbsent(snapshot.getParent(), snapshot);
        }
        return evaluate(newest.values().stream().filter(s -> !done.contains(s)).toList());
    }

    private int evaluate(List<Path> snapshots) throws Exception {
        int published = 0;
        for (Path snapshot : snapshots) {
            SaeEval eval;
            try {
                eval = evaluate(snapshot);
            } catch (RuntimeException e) {
                // a snapshot that cannot be evaluated (unreadable, another model's width) is reported once, not retried
                LOG.warn("cannot evaluate {}: {}", snapshot, e.getMessage());
                done.add(snapshot);
                continue;
            }
            String key = experiment + ":" + eval.getSaeId();
            producer.send(new ProducerRecord<>(Topics.SAE_EVALS, key.getBytes(StandardCharsets.UTF_8),
                    RecordCodec.SAE_EVAL.encode(eval))).get(30, TimeUnit.SECONDS);
            done.add(snapshot);
            if (latest == null || eval.getTokensSeen() >= latest.getTokensSeen()) {
                latest = eval;
            }
            published++;
            LOG.info("evaluated {} {}: CE loss recovered {}", key, snapshot.getFileName(), eval.getCeLossScore());
        }
        return published;
    }

    /** What a poll evaluates. */
    public enum Backlog {
        /** Every snapshot not evaluated yet, newest first. */
        ALL,
        /**
         * The newest of each SAE only: at most one evaluation per SAE and poll, so a stage that shares a small machine
         * with training takes a bounded share of it; the snapshots it skips stay unevaluated.
         */
        NEWEST
    }

    /** {@link #run(Duration, Backlog)} evaluating every snapshot. */
    public void run(Duration poll) {
        run(poll, Backlog.ALL);
    }

    /**
     * Evaluates new snapshots every {@code poll} until the thread is interrupted (a failed evaluation is logged and
     * tried again at the next poll).
     */
    public void run(Duration poll, Backlog backlog) {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                if (backlog == Backlog.ALL) {
                    evaluatePending();
                } else {
                    evaluateNewest();
                }
                Thread.sleep(poll.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                LOG.warn("live evaluation of {} failed; trying again", root.resolve(experiment), e);
            }
        }
    }

    /** The evaluation of the newest snapshot (most tokens trained) published so far, if any. */
    public Optional<SaeEval> latest() {
        return Optional.ofNullable(latest);
    }

    private List<Path> pending() throws IOException {
        return snapshots().stream().filter(s -> !done.contains(s)).toList();
    }

    /** Every complete snapshot, newest first per SAE. */
    private List<Path> snapshots() throws IOException {
        Path dir = root.resolve(experiment);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        try (Stream<Path> saes = Files.list(dir)) {
            for (Path sae : saes.filter(Files::isDirectory).sorted().toList()) {
                try (Stream<Path> snapshots = Files.list(sae)) {
                    snapshots.filter(s -> s.getFileName().toString().startsWith("tokens-"))
                            .filter(s -> Files.exists(s.resolve("cfg.json")))
                            .sorted(java.util.Comparator.reverseOrder()).forEach(out::add);
                }
            }
        }
        return out;
    }

    private SaeEval evaluate(Path snapshot) throws Exception {
        EvalReport r;
        String saeId;
        long tokensSeen;
        try (NDManager manager = NDManager.newBaseManager(); InferenceSae sae = InferenceSae.load(snapshot, manager)) {
            saeId = sae.config().saeId();
            tokensSeen = sae.tokensSeen();
            String hook = sae.config().hookNameOut(); // where it is spliced in (a transcoder's output hook)
            SplicedEvaluation.Baseline baseline = baselines.get(hook);
            if (baseline == null) {
                baseline = SplicedEvaluation.baseline(lm, tokenizer, heldOut, hook, settings);
                baselines.put(hook, baseline);
            }
            r = SplicedEvaluation.run(lm, baseline, sae);
        }
        return SaeEval.newBuilder().setExperiment(experiment).setSaeId(saeId).setHookName(r.hook())
                .setSnapshot(snapshot.getFileName().toString()).setTokensSeen(tokensSeen)
                .setEvalDataset(heldOut.stream().map(CorpusShard::shardId).collect(Collectors.joining(",")))
                .setEvalTokens(r.tokens()).setCeLossWithoutSae(r.lossClean()).setCeLossWithSae(r.lossSpliced())
                .setCeLossWithAblation(r.lossZeroAblated()).setCeLossWithMeanAblation(r.lossMeanAblated())
                .setCeLossScore(r.ceLossRecovered()).setKlDivWithSae(r.klSpliced())
                .setKlDivWithAblation(r.klZeroAblated()).setKlDivScore(r.klDivScore()).setFvu(r.fvu()).setL0(r.l0())
                .setDeadFraction(r.deadFraction()).setDenseFraction(r.denseFraction()).setTimeMs(Instant.now())
                .build();
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(10));
    }
}
