package org.saestream.jobs;

import org.junit.jupiter.api.Test;
import org.saestream.sae.ActivationSource;
import org.saestream.sae.BatchTopK;
import org.saestream.sae.MatryoshkaBatchTopK;
import org.saestream.sae.Target;
import org.saestream.sae.ReluL1;
import org.saestream.sae.SaeConfig;
import org.saestream.sae.TopK;
import org.saestream.sae.TrainingOptions;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExperimentFileTest {
    private static final String GOOD = """
            hook: blocks.3.hook_resid_post
            model: pythia-70m
            d_in: 512
            parallelism: 2
            reference: truth.safetensors
            training:
              b_dec_init: geometric_median
              normalize_activations: expected_average_only_in
              drift_window_tokens: 2000000
              drift_lookback: 3
            saes:
              - id: relu-8x
                expansion_factor: 8
                l1: 5.0
                lr: 0.0003
                seed: 1
                training:
                  resample_every_tokens: 500000
              - id: topk-32
                architecture: topk
                d_sae: 4096
                k: 32
                batch_size: 2048
                training:
                  freeze: {threshold: 0.98, windows: 4, stop_when_all_frozen: true}
              - id: btk
                architecture: batchtopk
                d_sae: 1024
                k: 16
                hook: blocks.4.hook_resid_post
            """;

    @Test
    void readsAnEnsembleWithDefaultsAndOverrides() {
        ExperimentFile.Plan plan = ExperimentFile.parse(GOOD, "exp.yaml", Path.of("/data"));
        assertEquals(3, plan.saes().size());
        assertEquals(2, plan.parallelism());
        assertEquals(Path.of("/data/truth.safetensors").toString(), plan.referenceDictionary());
        assertEquals(8 * 2048, plan.mixingBufferTokens(), "eight of the largest batch by default");

        SaeConfig relu = plan.saes().get(0);
        assertEquals(4096, relu.dSae(), "expansion factor 8 x d_in 512");
        assertEquals(5.0, assertInstanceOf(ReluL1.class, relu.architecture()).l1Coefficient());
        assertEquals(3e-4, relu.learningRate());
        assertEquals("blocks.3.hook_resid_post", relu.hookName());
        assertEquals("pythia-70m", relu.modelName());
        assertEquals(TrainingOptions.DecoderBiasInit.GEOMETRIC_MEDIAN, relu.options().decoderBiasInit(),
                "the file's training block applies to every SAE");
        assertTrue(relu.options().normalizeActivations());
        assertEquals(2_000_000, relu.options().driftWindowTokens());
        assertEquals(500_000, relu.options().resampling().everyTokens(), "and the SAE's own block adds to it");

        SaeConfig topk = plan.saes().get(1);
        assertEquals(32, assertInstanceOf(TopK.class, topk.architecture()).k());
        assertEquals(2048, topk.batchSize());
        assertEquals(0.98, topk.options().freezing().threshold());
        assertTrue(topk.options().freezing().stopWhenAllLiveFrozen());
        assertEquals(null, topk.options().resampling());

        SaeConfig btk = plan.saes().get(2);
        assertInstanceOf(BatchTopK.class, btk.architecture());
        assertEquals("blocks.4.hook_resid_post", btk.hookName());

        SaeJobConfig job = plan.jobConfig("exp-1", "activations.pile");
        assertEquals(3, job.groups().size(), "two hooks and two batch sizes give three groups");
    }

    @Test
    void matryoshkaTakesSaeLensWidthsOrDictionaryLearningGroupSizes() {
        ExperimentFile.Plan plan = ExperimentFile.parse("""
                d_in: 64
                saes:
                  - {id: widths, architecture: matryoshka_batchtopk, d_sae: 8192, k: 32,
                     matryoshka_widths: [128, 512, 2048]}
                  - {id: groups, architecture: matryoshka, d_sae: 10880, k: 32, group_sizes: [128, 512, 2048, 8192]}
                """, "exp.yaml", null);
        var widths = assertInstanceOf(MatryoshkaBatchTopK.class, plan.saes().get(0).architecture());
        assertEquals(List.of(128, 512, 2048, 8192), widths.widths(), "d_sae is added as the last prefix, as in SAELens");
        assertEquals(32, widths.k());
        var groups = assertInstanceOf(MatryoshkaBatchTopK.class, plan.saes().get(1).architecture());
        assertEquals(List.of(128, 640, 2688, 10880), groups.widths(), "group sizes are summed into prefix widths");
        assertMessage("saes[0].group_sizes: must sum to d_sae 8192, got [128, 512, 2048, 8192] (sum 10880)", """
                d_in: 64
                saes: [{id: a, architecture: matryoshka_batchtopk, d_sae: 8192, k: 8,
                        group_sizes: [128, 512, 2048, 8192]}]""");
        assertMessage("saes[0].matryoshka_widths: give exactly one of matryoshka_widths", """
                d_in: 64
                saes: [{id: a, architecture: matryoshka_batchtopk, d_sae: 256, k: 8}]""");
        assertMessage("saes[0].matryoshka_widths: must be a list of whole numbers", """
                d_in: 64
                saes: [{id: a, architecture: matryoshka_batchtopk, d_sae: 256, k: 8, matryoshka_widths: [16, x]}]""");
        assertMessage("saes[0]: widths must be positive and strictly increasing, got [64, 16, 256]", """
                d_in: 64
                saes: [{id: a, architecture: matryoshka_batchtopk, d_sae: 256, k: 8, matryoshka_widths: [64, 16]}]""");
        assertMessage("saes[0]: widths must end at d_sae 256", """
                d_in: 64
                saes: [{id: a, architecture: matryoshka_batchtopk, d_sae: 256, k: 8, matryoshka_widths: [64, 512]}]""");
    }

    @Test
    void transcodersNameTheHookTheyReconstruct() {
        ExperimentFile.Plan plan = ExperimentFile.parse("""
                d_in: 128
                hook: blocks.1.ln2.hook_normalized
                saes:
                  - {id: tc, d_sae: 512, hook_name_out: blocks.1.hook_mlp_out}
                  - {id: skip, d_sae: 512, architecture: batchtopk, k: 16, hook_name_out: blocks.1.hook_mlp_out,
                     d_out: 96, skip_connection: true}
                  - {id: plain, d_sae: 512}
                """, "exp.yaml", null);
        var tc = plan.saes().get(0);
        assertEquals(new Target.OtherHook("blocks.1.hook_mlp_out", 128, false), tc.target(), "d_out defaults to d_in");
        assertEquals(new Target.OtherHook("blocks.1.hook_mlp_out", 96, true), plan.saes().get(1).target());
        assertEquals(Target.OWN_INPUT, plan.saes().get(2).target());
        var groups = plan.jobConfig("e", "activations.r").groups();
        assertEquals(3, groups.size(), "each target (and the autoencoder) trains in its own group");
        SaeGroup skipGroup = groups.stream().filter(g -> g.members().get(0).saeId().equals("skip")).findFirst()
                .orElseThrow();
        assertEquals(128 + 96, skipGroup.rowWidth());
        assertEquals(RowSide.INPUT, skipGroup.sideOf("blocks.1.ln2.hook_normalized"));
        assertEquals(RowSide.TARGET, skipGroup.sideOf("blocks.1.hook_mlp_out"));
        assertTrue(skipGroup.takes("blocks.1.hook_mlp_out") && !skipGroup.takes("blocks.0.hook_mlp_out"));
        assertMessage("saes[0].d_out: applies to transcoders only", """
                d_in: 64
                saes: [{id: a, d_sae: 128, d_out: 32}]""");
        assertMessage("saes[0].hook_name_out: a transcoder reads one named hook", """
                d_in: 64
                saes: [{id: a, d_sae: 128, hook_name_out: blocks.0.hook_mlp_out}]""");
        assertMessage("SAELens has no TopK transcoder", """
                d_in: 64
                hook: blocks.0.ln2.hook_normalized
                saes: [{id: a, d_sae: 128, architecture: topk, k: 4, hook_name_out: blocks.0.hook_mlp_out}]""");
    }

    @Test
    void lineageThresholdsComeFromTheTrainingBlock() {
        ExperimentFile.Plan plan = ExperimentFile.parse("""
                d_in: 64
                training: {lineage: {stable: 0.95, split: 0.6}}
                saes: [{id: a, d_sae: 128}, {id: b, d_sae: 128, training: {lineage: {match: 0.3}}}]""", "exp.yaml", null);
        assertEquals(new TrainingOptions.Lineage(0.95, 0.5, 0.6), plan.saes().get(0).options().lineage());
        assertEquals(new TrainingOptions.Lineage(0.95, 0.3, 0.6), plan.saes().get(1).options().lineage());
        assertEquals(TrainingOptions.Lineage.defaults(), ExperimentFile.parse("d_in: 64\nsaes: [{id: a, d_sae: 128}]",
                "exp.yaml", null).saes().get(0).options().lineage());
        assertMessage("training.lineage: lineage thresholds must be in (-1, 1], got stable 2.0", """
                d_in: 64
                training: {lineage: {stable: 2}}
                saes: [{id: a, d_sae: 128}]""");
        assertMessage("training.lineage.splits: is not a known field (did you mean split?)", """
                d_in: 64
                training: {lineage: {splits: 0.5}}
                saes: [{id: a, d_sae: 128}]""");
    }

    @Test
    void featureExamplesAreOptionalAndChecked() {
        ExperimentFile.Plan plain = ExperimentFile.parse("d_in: 64\nsaes: [{id: a, d_sae: 128}]", "exp.yaml", null);
        assertEquals(FeatureExampleOptions.defaults(), plain.featureExamples());
        ExperimentFile.Plan plan = ExperimentFile.parse("""
                d_in: 64
                feature_examples: {k: 5, context_before: 10, context_after: 0, every_blocks: 4}
                saes: [{id: a, d_sae: 128}]""", "exp.yaml", null);
        assertEquals(new FeatureExampleOptions(5, 10, 0, 4), plan.featureExamples());
        assertEquals(plan.featureExamples(), plan.jobConfig("e", "activations.x").featureExamples());
        assertEquals(0, ExperimentFile.parse("d_in: 64\nfeature_examples: {k: 0}\nsaes: [{id: a, d_sae: 128}]",
                "exp.yaml", null).featureExamples().k(), "k: 0 turns examples off");
        assertMessage("feature_examples.every_blocks: must be at least 1, got 0", """
                d_in: 64
                feature_examples: {every_blocks: 0}
                saes: [{id: a, d_sae: 128}]""");
        assertMessage("feature_examples.context_after: must be at most 4096", """
                d_in: 64
                feature_examples: {context_after: 5000}
                saes: [{id: a, d_sae: 128}]""");
        assertMessage("feature_examples.top_k: is not a known field", """
                d_in: 64
                feature_examples: {top_k: 3}
                saes: [{id: a, d_sae: 128}]""");
    }

    @Test
    void theActivationSourceIsOptionalAndGoesToTheJob() {
        ExperimentFile.Plan plan = ExperimentFile.parse("""
                d_in: 64
                context_size: 128
                prepend_bos: true
                dataset_path: /data/pd-en
                saes:
                  - {id: a, d_sae: 256}
                """, "exp.yaml", null);
        assertEquals(new ActivationSource(128, true, "/data/pd-en"), plan.activationSource());
        assertEquals(plan.activationSource(), plan.jobConfig("e", "activations.r").activationSource());
        ExperimentFile.Plan silent = ExperimentFile.parse("d_in: 64\nsaes:\n  - {id: a, d_sae: 256}\n", "x", null);
        assertEquals(null, silent.activationSource(), "the command line fills it from the topic");
        assertEquals(ActivationSource.UNKNOWN, silent.jobConfig("e", "activations.r").activationSource());
    }

    @Test
    void initFromIsCheckedWhenTheFileIsRead(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path pretrained = java.nio.file.Files.createDirectories(dir.resolve("pretrained"));
        java.nio.file.Files.writeString(pretrained.resolve("cfg.json"),
                "{\"architecture\": \"standard\", \"d_in\": 4, \"d_sae\": 8}");
        java.util.Map<String, org.saestream.tensor.Tensor> w = new java.util.LinkedHashMap<>();
        w.put("W_enc", org.saestream.tensor.Tensor.ofFloats(new float[32], 4, 8));
        w.put("W_dec", org.saestream.tensor.Tensor.ofFloats(new float[32], 8, 4));
        w.put("b_enc", org.saestream.tensor.Tensor.ofFloats(new float[8], 8));
        w.put("b_dec", org.saestream.tensor.Tensor.ofFloats(new float[4], 4));
        java.nio.file.Files.write(pretrained.resolve("sae_weights.safetensors"),
                org.saestream.tensor.Safetensors.toBytes(w, java.util.Map.of()));
        ExperimentFile.Plan plan = ExperimentFile.parse("d_in: 4\nsaes:\n  - {id: a, d_sae: 8, init_from: pretrained}\n",
                "exp.yaml", dir);
        assertEquals(pretrained.toAbsolutePath().toString(), plan.saes().get(0).options().initFrom(),
                "relative to the file");
        assertMessage("saes[0].init_from: " + dir.resolve("pretrained") + " holds a 4 x 8 SAE, not 4 x 16",
                "d_in: 4\nsaes:\n  - {id: a, d_sae: 16, init_from: " + pretrained + "}\n");
        assertMessage("saes[0].init_from: " + dir.resolve("nowhere") + " is not an SAE directory",
                "d_in: 4\nsaes:\n  - {id: a, d_sae: 8, init_from: " + dir.resolve("nowhere") + "}\n");
        assertMessage("holds a 'standard' SAE, not what topk trains ('topk')",
                "d_in: 4\nsaes:\n  - {id: a, d_sae: 8, architecture: topk, k: 2, init_from: " + pretrained + "}\n");
    }

    @Test
    void epochsAreOneUnlessTheFileSaysMore() {
        assertEquals(1, ExperimentFile.parse("d_in: 64\nsaes: [{id: a, d_sae: 128}]", "e.yaml", null).epochs());
        assertEquals(4, ExperimentFile.parse("d_in: 64\nepochs: 4\nsaes: [{id: a, d_sae: 128}]", "e.yaml", null)
                .epochs());
        assertMessage("epochs: must be at least 1", "d_in: 64\nepochs: 0\nsaes: [{id: a, d_sae: 128}]");
    }

    @Test
    void jsonIsReadToo() {
        ExperimentFile.Plan plan = ExperimentFile.parse("""
                {"d_in": 64, "saes": [{"id": "a", "d_sae": 256, "architecture": "topk", "k": 4}]}
                """, "exp.json", null);
        assertEquals(256, plan.saes().get(0).dSae());
    }

    @Test
    void mistakesFailWithTheFieldThatIsWrong() {
        assertMessage("saes[0].k: is required", """
                d_in: 64
                saes: [{id: a, d_sae: 128, architecture: topk}]""");
        assertMessage("saes[1].id: 'a' is used by an earlier SAE", """
                d_in: 64
                saes: [{id: a, d_sae: 128}, {id: a, d_sae: 256}]""");
        assertMessage("saes[0].l1x: is not a known field", """
                d_in: 64
                saes: [{id: a, d_sae: 128, l1x: 3}]""");
        // a misspelt field is named first, not the error it causes (both d_sae and expansion_factor look absent)
        assertMessage("saes[0].expansion_factr: is not a known field (did you mean expansion_factor?)", """
                d_in: 64
                saes: [{id: a, expansion_factr: 8}]""");
        assertMessage("feature_examples.contxt_before: is not a known field (did you mean context_before?)", """
                d_in: 64
                feature_examples: {k: 4, contxt_before: 3}
                saes: [{id: a, d_sae: 128}]""");
        assertMessage("saes[0].d_in: is required", """
                saes: [{id: a, d_sae: 128}]""");
        assertMessage("saes[0].d_sae: give exactly one of d_sae and expansion_factor", """
                d_in: 64
                saes: [{id: a, d_sae: 128, expansion_factor: 4}]""");
        assertMessage("saes[0].architecture: 'gated' is not one of", """
                d_in: 64
                saes: [{id: a, d_sae: 128, architecture: gated}]""");
        assertMessage("saes[0].lr: must be a finite number, got \"fast\"", """
                d_in: 64
                saes: [{id: a, d_sae: 128, lr: fast}]""");
        assertMessage("training.freeze.windows: must be at least 1", """
                d_in: 64
                training: {freeze: {windows: 0}}
                saes: [{id: a, d_sae: 128}]""");
        assertMessage("saes: is required", "d_in: 64");
        assertMessage("not valid YAML or JSON", "saes: [{id: a");
        assertMessage("mixing_buffer_tokens: 1000 must hold at least two of the largest batch (1024)", """
                d_in: 64
                mixing_buffer_tokens: 1000
                saes: [{id: a, d_sae: 128}]""");
    }

    private static void assertMessage(String expected, String yaml) {
        var e = assertThrows(ExperimentFile.InvalidExperimentException.class,
                () -> ExperimentFile.parse(yaml, "bad.yaml", null));
        assertTrue(e.getMessage().startsWith("bad.yaml: "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
    }
}
