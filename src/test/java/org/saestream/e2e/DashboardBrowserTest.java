package org.saestream.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.records.DictionaryPair;
import org.saestream.records.FeatureExample;
import org.saestream.records.FeatureExamples;
import org.saestream.records.FeatureTopK;
import org.saestream.records.HessianSpectrum;
import org.saestream.records.ProducerMetrics;
import org.saestream.records.RecordCodec;
import org.saestream.records.SaeComparison;
import org.saestream.records.SaeEval;
import org.saestream.records.SaeMetrics;
import org.saestream.records.SaeSnapshot;
import org.saestream.records.SketchMethod;
import org.saestream.records.SpectrumMetrics;
import org.saestream.records.Topics;
import org.saestream.sink.MetricsSink;
import org.saestream.sink.SinkConfig;
import org.saestream.sink.SinkTopology;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.TopicSpec;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The dashboard in Debian's headless Chromium against a real broker and a real sink: every plot renders
 * the records produced, a new metrics record shows up without a reload, and the feature browser shows a
 * feature's top contexts decoded with the run's tokenizer, its density, self-similarity and nearest
 * feature in the other dictionary. A screenshot is kept in target/artifacts/dashboard.png.
 */
class DashboardBrowserTest {
    private static final String EXPERIMENT = "dash";
    private static final int D_IN = 8;
    private static final int D_SAE = 16;
    private static final int STEPS = 5;
    /** A byte-level BPE vocabulary of whole words: enough to decode the examples' ids. */
    private static final String TOKENIZER = """
            {"version": "1.0", "added_tokens": [{"id": 7, "content": "<|endoftext|>", "special": true}],
             "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
             "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true},
             "model": {"type": "BPE", "vocab": {"The": 0, "Ġcat": 1, "Ġsat": 2, "Ġon": 3, "Ġthe": 4, "Ġmat": 5,
                       ".": 6, "<|endoftext|>": 7}, "merges": []}}
            """;

    @Test
    void chartsRenderUpdateLiveAndTheFeatureBrowserShowsTopContexts(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(HeadlessChromium.available(), "skipped: no " + HeadlessChromium.BINARY
                + " (apt-get install chromium; .ci/run installs it)");
        Path model = Files.createDirectories(dir.resolve("models").resolve("tiny-words"));
        Files.writeString(model.resolve("tokenizer.json"), TOKENIZER);
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            KafkaAdmin.ensureTopics(bootstrap, 1, SinkTopology.topics().toArray(TopicSpec<?>[]::new));
            float[] decoderA = randomDecoder(1);
            float[] decoderB = randomDecoder(2);
            // feature 7 of b is feature 3 of a: the browser must name it as a's nearest in b
            System.arraycopy(decoderA, 3 * D_IN, decoderB, 7 * D_IN, D_IN);
            try (KafkaProducer<String, byte[]> producer = producer(bootstrap)) {
                for (String sae : List.of("a", "b")) {
                    for (int step = 1; step <= STEPS; step++) {
                        send(producer, Topics.SAE_METRICS, EXPERIMENT + ":" + sae, RecordCodec.SAE_METRICS.encode(metrics(sae, step)));
                    }
                    for (int window = 1; window <= 3; window++) {
                        for (SaeSnapshot chunk : snapshot(sae, window, sae.equals("a") ? decoderA : decoderB)) {
                            send(producer, Topics.SAE_SNAPSHOTS, EXPERIMENT + ":" + sae, RecordCodec.SAE_SNAPSHOT.encode(chunk));
                        }
                    }
                }
                send(producer, Topics.SAE_COMPARISONS, EXPERIMENT, RecordCodec.SAE_COMPARISON.encode(comparison()));
                send(producer, Topics.PRODUCER_METRICS, "run:p0", RecordCodec.PRODUCER_METRICS.encode(producerMetrics(1, 900)));
                send(producer, Topics.PRODUCER_METRICS, "run:p0", RecordCodec.PRODUCER_METRICS.encode(producerMetrics(2, 1100)));
                for (int step = 10; step <= 30; step += 10) {
                    send(producer, Topics.SPECTRUM, "run", RecordCodec.SPECTRUM_METRICS.encode(spectrum(step)));
                }
                for (int step = 20; step <= 40; step += 20) {
                    send(producer, Topics.HESSIAN, "run", RecordCodec.HESSIAN_SPECTRUM.encode(hessian(step)));
                }
                send(producer, Topics.SAE_FEATURES, EXPERIMENT + ":a", RecordCodec.FEATURE_EXAMPLES.encode(examples()));
                for (int snapshot = 1; snapshot <= 2; snapshot++) {
                    send(producer, Topics.SAE_EVALS, EXPERIMENT + ":a", RecordCodec.SAE_EVAL.encode(eval(snapshot)));
                }
                producer.flush();
            }

            SinkConfig config = SinkConfig.of(bootstrap, dir.resolve("sink"), dir.resolve("snapshots"), 0)
                    .withTokenizers(List.of(model));
            try (MetricsSink sink = new MetricsSink(config);
                 HeadlessChromium browser = HeadlessChromium.start(dir.resolve("chromium-profile"))) {
                sink.start();
                sink.awaitRunning(Duration.ofSeconds(60));
                String base = "http://127.0.0.1:" + sink.httpPort();
                // wait until the sink has materialised everything, then look
                SinkApiPolling.await(base + "/api/saes/" + EXPERIMENT + ":b/snapshots", n -> n.size() == 3);
                SinkApiPolling.await(base + "/api/saes/" + EXPERIMENT + ":a/features/3", n -> n.path("examples").size() == 2);
                // each topic is its own task: the comparison, producer and spectrum records may come later
                SinkApiPolling.await(base + "/api/experiments/" + EXPERIMENT + "/comparisons", n -> n.size() == 1);
                SinkApiPolling.await(base + "/api/producers/run:p0/metrics", n -> n.size() == 2);
                SinkApiPolling.await(base + "/api/spectrum/run", n -> n.size() == 3);
                SinkApiPolling.await(base + "/api/hessian/run", n -> n.size() == 2);
                SinkApiPolling.await(base + "/api/evals/" + EXPERIMENT + ":a", n -> n.size() == 2);
                browser.navigate(base + "/?experiment=" + EXPERIMENT + "&sae=" + EXPERIMENT + ":a&feature=3");
                browser.await("document.body.dataset.rendered || document.body.dataset.error || ''",
                        v -> !v.asText().isEmpty(), Duration.ofSeconds(30));
                assertEquals("", browser.eval("document.body.dataset.error || ''").asText(), "the page reported an error");

                // training plots: every metrics record of both SAEs, one line each
                JsonNode mse = browser.eval("(() => { const s = document.querySelector('svg[data-chart=mse]');"
                        + " return {points: +s.dataset.points, series: +s.dataset.seriesCount}; })()");
                assertEquals(2 * STEPS, mse.path("points").asInt());
                assertEquals(2, mse.path("series").asInt());
                assertEquals(2 * STEPS, browser.eval("+document.querySelector('svg[data-chart=l0]').dataset.points").asInt());
                assertTrue(browser.eval("document.querySelector('#training-legend [data-sae$=\":a\"]').textContent").asText()
                        .contains("transcoder blocks.0.ln2.hook_normalized → blocks.0.hook_mlp_out; 12 rows waiting"),
                        "a transcoder's legend names both hooks and its pairing");
                assertEquals(2 * STEPS, browser.eval("+document.querySelector('svg[data-chart=dead_fraction]').dataset.points").asInt());
                assertEquals(histogram().stream().mapToLong(Long::longValue).sum(),
                        browser.eval("+document.querySelector('svg[data-chart=density]').dataset.total").asLong());
                // the self-similarity heatmap: 3 windows x 16 features, and the reached-then-fell count
                browser.await("document.getElementById('heatmap').dataset.windows", v -> v.asText().equals("3"),
                        Duration.ofSeconds(10));
                assertEquals(String.valueOf(D_SAE), browser.eval("document.getElementById('heatmap').dataset.features").asText());
                assertEquals("4", browser.eval("document.getElementById('heatmap-note').dataset.reachedHighThenFell").asText());
                // the ensemble's MMCS matrix, producer throughput and the spectrum
                assertEquals(0.81, browser.eval("+document.querySelector('td[data-a=a][data-b=b]').dataset.mmcs").asDouble(), 0);
                assertEquals(0.79, browser.eval("+document.querySelector('td[data-a=b][data-b=a]').dataset.mmcs").asDouble(), 0);
                assertEquals(2, browser.eval("+document.querySelector('svg[data-chart=producer-throughput]').dataset.points").asInt());
                assertEquals("2000", browser.eval("document.querySelector('tr[data-producer=\"run:p0\"] td[data-tokens]').dataset.tokens").asText());
                assertEquals(3 * 3, browser.eval("+document.querySelector('svg[data-chart=\"singular-values-run\"]').dataset.points").asInt());
                // the early and late windows' exact ranks: four lines over the three records
                String windows = "document.querySelector('svg[data-chart=\"window-rank-run\"]')";
                assertEquals(4 * 3, browser.eval("+" + windows + ".dataset.points").asInt());
                assertEquals(6, browser.eval("+" + windows + ".querySelector('path[data-series=\"first 8 steps\"]')"
                        + ".dataset.last").asInt());
                // the loss Hessian during training: three eigenvalues at two steps, and the gradients' share
                String sharpness = "document.querySelector('svg[data-chart=\"hessian-eigenvalues-run\"]')";
                assertEquals(3 * 2, browser.eval("+" + sharpness + ".dataset.points").asInt());
                assertEquals(5.0 + 40, browser.eval("+" + sharpness + ".querySelector('path[data-series=\"λ1 (sharpness)\"]')"
                        + ".dataset.last").asDouble(), 0);
                assertEquals(2 + 2 * 2, browser.eval("+document.querySelector('svg[data-chart=\"hessian-overlap-run\"]')"
                        + ".dataset.points").asInt());
                // every snapshot's spliced evaluation, against tokens trained
                assertEquals(2, browser.eval("+document.querySelector('svg[data-chart=\"ce-loss-recovered\"]').dataset.points").asInt());
                // the Matryoshka SAE's prefixes, one line each; none for the plain one
                String prefixes = "document.querySelector('svg[data-chart=\"matryoshka-" + EXPERIMENT + ":b\"]')";
                assertEquals(2 * STEPS, browser.eval("+" + prefixes + ".dataset.points").asInt());
                assertEquals(2, browser.eval("+" + prefixes + ".dataset.seriesCount").asInt());
                assertEquals(0.5 / STEPS, browser.eval("+" + prefixes
                        + ".querySelector('path[data-series=\"first " + D_SAE + " latents\"]').dataset.last").asDouble(), 1e-12);
                assertTrue(browser.eval("document.querySelector('svg[data-chart=\"matryoshka-" + EXPERIMENT + ":a\"]')")
                        .isNull(), "no prefix chart for a plain SAE");
                assertEquals(2, browser.eval("+document.querySelector('svg[data-chart=\"kl-with-sae\"]').dataset.points").asInt());

                // the feature browser (feature=3 from the URL): decoded contexts, activations per token, nearest in b
                browser.await("+(document.getElementById('feature-examples') || {dataset: {}}).dataset.count",
                        v -> v.asInt() == 2, Duration.ofSeconds(10));
                JsonNode first = browser.eval("(() => { const c = document.querySelector('#feature-examples .context');"
                        + " return {text: [...c.querySelectorAll('span')].map(s => s.textContent).join(''),"
                        + " peak: c.querySelector('span.peak').textContent, act: +c.dataset.activation,"
                        + " peakAct: +c.querySelector('span.peak').dataset.act}; })()");
                assertEquals("The cat sat on the mat.", first.path("text").asText());
                assertEquals(" mat", first.path("peak").asText());
                assertEquals(2.5, first.path("act").asDouble(), 1e-6);
                assertEquals(2.5, first.path("peakAct").asDouble(), 1e-6);
                JsonNode nearest = browser.eval("(() => { const a = document.querySelector('.nearest a');"
                        + " return {sae: a.dataset.sae, feature: +a.dataset.feature}; })()");
                assertEquals(EXPERIMENT + ":b", nearest.path("sae").asText());
                assertEquals(7, nearest.path("feature").asInt());
                assertTrue(browser.eval("document.querySelector('[data-density]').dataset.density").asDouble() < 0);
                // its lineage back to its birth, newest first, with the split partner as a link
                JsonNode chain = browser.eval("(() => { const l = document.querySelector('ol.lineage');"
                        + " return {steps: +l.dataset.steps, kinds: [...l.querySelectorAll('li')].map(i => i.dataset.kind).join(','),"
                        + " partner: +l.querySelector('a').dataset.feature}; })()");
                assertEquals(3, chain.path("steps").asInt());
                assertEquals("split,stable,born", chain.path("kinds").asText());
                assertEquals(5, chain.path("partner").asInt());
                // the lineage counts of each window, stacked
                String lineage = "document.querySelector('svg[data-chart=\"lineage-" + EXPERIMENT + ":a\"]')";
                assertEquals(STEPS, browser.eval("+" + lineage + ".dataset.windows").asInt());
                assertEquals(1, browser.eval("+" + lineage + ".querySelector('rect[data-window=\"3\"][data-kind=\"merged\"]')"
                        + ".dataset.value").asInt());

                // live: a new metrics record arrives over Server-Sent Events and is drawn without a reload
                browser.eval("window.__sameDocument = 'yes'");
                browser.await("document.getElementById('live').className", v -> v.asText().equals("on"), Duration.ofSeconds(10));
                try (KafkaProducer<String, byte[]> producer = producer(bootstrap)) {
                    send(producer, Topics.SAE_METRICS, EXPERIMENT + ":a", RecordCodec.SAE_METRICS.encode(metrics("a", STEPS + 1)));
                }
                browser.await("+document.querySelector('svg[data-chart=mse]').dataset.points",
                        v -> v.asInt() == 2 * STEPS + 1, Duration.ofSeconds(30));
                assertEquals("yes", browser.eval("window.__sameDocument").asText(), "the page was reloaded");

                Path screenshot = Path.of("target", "artifacts", "dashboard.png");
                browser.screenshot(screenshot);
                assertTrue(Files.size(screenshot) > 10_000, "a screenshot of a rendered page");
            }
        }
    }

    private static float[] randomDecoder(long seed) {
        Random random = new Random(seed);
        float[] w = new float[D_SAE * D_IN];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) random.nextGaussian();
        }
        return w;
    }

    private static List<Long> histogram() {
        List<Long> bins = new ArrayList<>(Collections.nCopies(20, 0L));
        bins.set(12, 5L);
        bins.set(14, 9L);
        bins.set(0, 2L);
        return bins;
    }

    /** SAE b is a Matryoshka one, with two prefixes; SAE a a transcoder from ln2.hook_normalized to hook_mlp_out. */
    private static SaeMetrics metrics(String sae, int step) {
        SaeMetrics.Builder m = plainMetrics(sae, step);
        if (sae.equals("a")) {
            m.setHookName("blocks.0.ln2.hook_normalized").setHookNameOut("blocks.0.hook_mlp_out").setDOut(D_IN)
                    .setHalvesPending(12).setHalvesDropped(0);
        }
        if (sae.equals("b")) {
            m.setArchitecture("matryoshka_batchtopk").setMatryoshkaWidths(List.of(4, D_SAE))
                    .setMatryoshkaPrefixFvu(List.of(0.9 / step, 0.5 / step));
        }
        return m.build();
    }

    private static SaeMetrics.Builder plainMetrics(String sae, int step) {
        return SaeMetrics.newBuilder().setExperiment(EXPERIMENT).setSaeId(sae).setArchitecture("relu")
                .setHookName("blocks.0.hook_resid_post").setDIn(D_IN).setDSae(D_SAE).setStep(step)
                .setTokensSeen(step * 4096L).setTokensBuffered(0).setTokenChecksum(step).setRecordsRejected(0)
                .setMse(1.0 / step).setFvu(0.5 / step).setL0(10.0 - step).setL1(1.0).setLoss(1.0)
                .setDeadFraction(0.01 * step).setDenseFraction(0.001).setDeadWindowTokens(1_000_000)
                .setLearningRate(1e-3).setTimeMs(Instant.ofEpochMilli(1_700_000_000_000L + step))
                .setLog10DensityHistogram(histogram()).setWindowIndex(step).setFeaturesReachedHighThenFell(4)
                .setLineageCounts(List.of(D_SAE - 3 - step % 2, 1, 1, 1, step % 2, 0, 0));
    }

    /** A snapshot with the files the dashboard reads: weights (W_dec), sparsity and drift. */
    private static List<SaeSnapshot> snapshot(String sae, int window, float[] decoder) {
        float[] density = new float[D_SAE];
        float[] similarity = new float[D_SAE];
        for (int f = 0; f < D_SAE; f++) {
            density[f] = -1f - f * 0.25f;
            similarity[f] = (float) Math.cos(0.1 * f * window);
        }
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("cfg.json", ("{\"d_in\": " + D_IN + ", \"d_sae\": " + D_SAE + "}").getBytes(StandardCharsets.UTF_8));
        files.put("sae_weights.safetensors", Safetensors.toBytes(Map.of("W_dec", Tensor.ofFloats(decoder, D_SAE, D_IN)),
                Map.of()));
        files.put("sparsity.safetensors", Safetensors.toBytes(Map.of("sparsity", Tensor.ofFloats(density, D_SAE)), Map.of()));
        // feature 3: born at window 1, stable at 2, split with feature 5 at 3
        long[] match = new long[D_SAE];
        long[] kind = new long[D_SAE];
        long[] partner = new long[D_SAE];
        float[] matchCos = new float[D_SAE];
        for (int f = 0; f < D_SAE; f++) {
            match[f] = f;
            partner[f] = -1;
            matchCos[f] = 0.99f;
        }
        if (window == 1) {
            match[3] = -1;
            matchCos[3] = Float.NaN;
            kind[3] = 2;
        } else if (window == 3) {
            kind[3] = 3;
            partner[3] = 5;
            matchCos[3] = 0.8f;
        }
        Map<String, Tensor> drift = new LinkedHashMap<>();
        drift.put("self_similarity_previous", Tensor.ofFloats(similarity, D_SAE));
        drift.put("lineage_match", Tensor.ofLongs(match, D_SAE));
        drift.put("lineage_cosine", Tensor.ofFloats(matchCos, D_SAE));
        drift.put("lineage_kind", Tensor.ofLongs(kind, D_SAE));
        drift.put("lineage_partner", Tensor.ofLongs(partner, D_SAE));
        files.put("drift.safetensors", Safetensors.toBytes(drift, Map.of("window_index", Long.toString(window))));
        List<SaeSnapshot> chunks = new ArrayList<>();
        long tokens = window * 1_000_000L;
        int index = 0;
        for (Map.Entry<String, byte[]> file : files.entrySet()) {
            chunks.add(SaeSnapshot.newBuilder().setExperiment(EXPERIMENT).setSaeId(sae)
                    .setSnapshotId(String.format("tokens-%012d", tokens)).setTokensSeen(tokens).setStep(window * 100L)
                    .setFileName(file.getKey()).setFileIndex(index++).setFileCount(files.size()).setChunkIndex(0)
                    .setChunkCount(1).setFileSize(file.getValue().length).setData(ByteBuffer.wrap(file.getValue()))
                    .setTimeMs(Instant.ofEpochMilli(1_700_000_000_000L)).build());
        }
        return chunks;
    }

    private static SaeComparison comparison() {
        return SaeComparison.newBuilder().setExperiment(EXPERIMENT).setHookName("blocks.0.hook_resid_post")
                .setWindowIndex(3).setTokensSeen(3_000_000).setSaeIds(List.of("a", "b"))
                .setPairs(List.of(DictionaryPair.newBuilder().setA("a").setB("b").setMmcsAToB(0.81).setMmcsBToA(0.79)
                        .setFractionAAbove(0.4).setFractionBAbove(0.38).setMatchedMean(0.7).build()))
                .setThreshold(0.9).setTimeMs(Instant.ofEpochMilli(1_700_000_000_000L)).build();
    }

    private static ProducerMetrics producerMetrics(int i, double tokensPerSecond) {
        return ProducerMetrics.newBuilder().setRunId("run").setProducerId("p0").setModelId("tiny-words")
                .setHooks(List.of("blocks.0.hook_resid_post")).setDocuments(10L * i).setWindows(20L * i).setTokens(1000L * i)
                .setBytesPublished(64_000L * i).setTokensPerSecond(tokensPerSecond).setShardsDone(i).setShardsTotal(3)
                .setShardsFailed(0).setShardsChanged(0).setInvalidUtf8Documents(0).setEmptyDocumentsSkipped(0)
                .setMalformedJsonSkipped(0).setShortRemaindersDropped(0)
                .setTimeMs(Instant.ofEpochMilli(1_700_000_000_000L + 1000L * i)).build();
    }

    private static SaeEval eval(int snapshot) {
        return SaeEval.newBuilder().setExperiment(EXPERIMENT).setSaeId("a").setHookName("blocks.0.hook_resid_post")
                .setSnapshot("tokens-" + snapshot).setTokensSeen(snapshot * 1000L).setEvalDataset("held-out.txt")
                .setEvalTokens(2048).setCeLossWithoutSae(3.0).setCeLossWithSae(3.5 - 0.1 * snapshot)
                .setCeLossWithAblation(8.0).setCeLossWithMeanAblation(7.0).setCeLossScore(0.9 + 0.02 * snapshot)
                .setKlDivWithSae(0.2 / snapshot).setKlDivWithAblation(4.0).setKlDivScore(0.95).setFvu(0.1).setL0(30)
                .setDeadFraction(0).setDenseFraction(0).setTimeMs(Instant.ofEpochMilli(1_700_000_000_000L + snapshot))
                .build();
    }

    private static SpectrumMetrics spectrum(int step) {
        return SpectrumMetrics.newBuilder().setRunId("run").setStep(step).setStepsSeen(step).setSketchRows(32)
                .setWidth(4096).setSingularValues(List.of(9.0 + step, 4.0, 1.0)).setEffectiveRank(2).setRankThreshold(0.1)
                .setCenteredSingularValues(List.of(5.0, 1.0)).setCenteredEffectiveRank(1)
                .setWindowSteps(8).setEarlyFirstStep(1).setEarlyLastStep(8).setEarlyEffectiveRank(6)
                .setEarlyCenteredEffectiveRank(5).setLateFirstStep(step - 7).setLateLastStep(step)
                .setLateEffectiveRank(step / 10).setLateCenteredEffectiveRank(1)
                .setTimeMs(Instant.ofEpochMilli(1_700_000_000_000L + step)).build();
    }

    private static HessianSpectrum hessian(int step) {
        return HessianSpectrum.newBuilder().setRunId("run").setModelId("m").setStep(step).setTokensSeen(step * 2048L)
                .setLoss(4.0).setTokens(508).setParameters(7_232_256L).setParameterGlob("")
                .setEigenvalues(List.of(5.0 + step, 3.0, 1.0)).setResiduals(List.of(0.1, 0.2, 0.3)).setLanczosIterations(29)
                .setTopParameters(List.of("a", "b", "c")).setOverlapSteps(List.of(step - 1L, (long) step))
                .setOverlaps(List.of(0.2, 0.4)).setOverlapMean(0.3).setSketchMethod(SketchMethod.COUNT_SKETCH)
                .setSketchWidth(4096).setSeconds(12.0).setStepSeconds(2.0)
                .setTimeMs(Instant.ofEpochMilli(1_700_000_000_000L + step)).build();
    }

    /** Feature 3 of a: two contexts; "The cat sat on the mat." peaks at " mat". */
    private static FeatureExamples examples() {
        List<FeatureTopK> features = new ArrayList<>();
        for (int f = 0; f < D_SAE; f++) {
            List<FeatureExample> list = new ArrayList<>();
            if (f == 3) {
                list.add(example(2.5f, List.of(0, 1, 2, 3, 4, 5, 6), List.of(0f, 0.1f, 0f, 0f, 0.4f, 2.5f, 0.2f), 5));
                list.add(example(1.25f, List.of(4, 1, 2, 6), List.of(0f, 1.25f, 0.3f, 0f), 1));
            }
            features.add(FeatureTopK.newBuilder().setFeature(f).setExamples(list).build());
        }
        return FeatureExamples.newBuilder().setExperiment(EXPERIMENT).setSaeId("a").setHookName("blocks.0.hook_resid_post")
                .setModelId("tiny-words").setWindowIndex(3).setTokensSeen(3_000_000).setFirstFeature(0).setDSae(D_SAE)
                .setBlocksSampled(40).setFeatures(features).setTimeMs(Instant.ofEpochMilli(1_700_000_000_000L)).build();
    }

    private static FeatureExample example(float activation, List<Integer> ids, List<Float> acts, int peak) {
        return FeatureExample.newBuilder().setActivation(activation).setSourceTopic("activations.run").setSourcePartition(0)
                .setSourceOffset(17).setShardId("s0").setDocumentId(2).setSequenceIndex(0).setPosition(100 + peak)
                .setContextStart(100).setTokenIds(ids).setActivations(acts).build();
    }

    private static KafkaProducer<String, byte[]> producer(String bootstrap) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }

    private static void send(KafkaProducer<String, byte[]> producer, String topic, String key, byte[] value) throws Exception {
        producer.send(new ProducerRecord<>(topic, key, value)).get();
    }
}
