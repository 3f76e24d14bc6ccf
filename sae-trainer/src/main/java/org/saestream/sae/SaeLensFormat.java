package org.saestream.sae;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.saestream.tensor.DType;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * SAE snapshots as SAELens lays them out on disk, so SAELens ({@code SAE.load_from_disk}) and the
 * tools around it read them: cfg.json, sae_weights.safetensors (W_enc [d_in, d_sae], W_dec
 * [d_sae, d_in], b_enc [d_sae], b_dec [d_in], and for JumpReLU and BatchTopK "threshold" [d_sae], all
 * F32) and sparsity.safetensors ("sparsity" [d_sae] = log10 feature density).
 *
 * <p>cfg.json "architecture" is the SAELens inference architecture: "standard", "topk", "jumprelu",
 * and "jumprelu" for BatchTopK too, which SAELens saves as a JumpReLU SAE whose thresholds all equal
 * the global one. The architecture's hyperparameters follow under SAELens' names (l1_coefficient,
 * l1_warm_up_steps; k, aux_loss_coefficient; topk_threshold_lr; l0_coefficient, jumprelu_bandwidth,
 * jumprelu_init_threshold, l0_warm_up_steps), then saestream's keys (training_architecture, k_aux, sae_id, tokens_seen,
 * steps, the optimizer settings), which {@link #read} uses to rebuild the {@link SaeConfig}.
 */
public final class SaeLensFormat {
    public static final String CONFIG_FILE = "cfg.json";
    public static final String WEIGHTS_FILE = "sae_weights.safetensors";
    public static final String SPARSITY_FILE = "sparsity.safetensors";
    public static final String SPARSITY_TENSOR = "sparsity";
    /** The per-latent JumpReLU threshold SAELens loads (JumpReLU and BatchTopK snapshots). */
    public static final String THRESHOLD_TENSOR = "threshold";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private SaeLensFormat() {
    }

    /** The three snapshot files of the trainer's current state, by file name, in a fixed order. */
    public static Map<String, byte[]> files(SaeTrainer trainer) {
        SaeConfig c = trainer.config();
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put(CONFIG_FILE, configJson(c, trainer.tokensSeen(), trainer.steps()));

        Map<String, Tensor> weights = new LinkedHashMap<>();
        weights.put(SaeParameters.W_ENC, Tensor.ofFloats(trainer.encoder(), c.dIn(), c.dSae()));
        weights.put(SaeParameters.W_DEC, Tensor.ofFloats(trainer.decoder(), c.dSae(), c.dIn()));
        weights.put(SaeParameters.B_ENC, Tensor.ofFloats(trainer.encoderBias(), c.dSae()));
        weights.put(SaeParameters.B_DEC, Tensor.ofFloats(trainer.decoderBias(), c.dIn()));
        trainer.inferenceThreshold().ifPresent(t -> weights.put(THRESHOLD_TENSOR, Tensor.ofFloats(t, c.dSae())));
        files.put(WEIGHTS_FILE, Safetensors.toBytes(weights, Map.of("format", "pt")));

        Map<String, Tensor> sparsity = new LinkedHashMap<>();
        sparsity.put(SPARSITY_TENSOR, Tensor.ofFloats(trainer.statistics().log10Density(), c.dSae()));
        files.put(SPARSITY_FILE, Safetensors.toBytes(sparsity, Map.of("format", "pt")));
        return files;
    }

    static byte[] configJson(SaeConfig c, long tokensSeen, long steps) {
        ObjectNode cfg = JSON.createObjectNode();
        // SAELens keys
        SaeArchitecture architecture = c.architecture();
        cfg.put("architecture", architecture.inferenceSaeLensName());
        cfg.put("d_in", c.dIn());
        cfg.put("d_sae", c.dSae());
        cfg.put("dtype", "float32");
        cfg.put("device", "cpu");
        cfg.put("model_name", c.modelName());
        cfg.put("hook_name", c.hookName());
        cfg.put("hook_layer", hookLayer(c.hookName()));
        cfg.putNull("hook_head_index");
        cfg.put("apply_b_dec_to_input", true);
        cfg.put("normalize_activations", "none");
        cfg.put("finetuning_scaling_factor", false);
        architecture.saeLensConfig().forEach((key, value) -> cfg.set(key, JSON.valueToTree(value)));
        cfg.put("lr", c.learningRate());
        cfg.put("adam_beta1", c.beta1());
        cfg.put("adam_beta2", c.beta2());
        cfg.put("train_batch_size_tokens", c.batchSize());
        cfg.put("seed", c.seed());
        // saestream keys
        cfg.put("training_architecture", architecture.saeLensName());
        cfg.put("sae_id", c.saeId());
        cfg.put("tokens_seen", tokensSeen);
        cfg.put("steps", steps);
        cfg.put("adam_epsilon", c.epsilon());
        cfg.put("dead_window_tokens", c.deadWindowTokens());
        try {
            return JSON.writeValueAsBytes(cfg);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The layer index in a hook name: the first dot-separated part that is a number
     * ("blocks.3.hook_resid_post" gives 3, "model.layers.12.mlp" gives 12), else 0.
     */
    public static int hookLayer(String hookName) {
        for (String part : hookName.split("\\.")) {
            if (!part.isEmpty() && part.length() <= 9 && part.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
                return Integer.parseInt(part);
            }
        }
        return 0;
    }

    /**
     * Writes the files into {@code dir} atomically: they go to a temporary sibling directory that is
     * then renamed to {@code dir}, so readers see all of them or none. An existing {@code dir} is first
     * renamed aside and deleted after the new one is in place.
     */
    public static void write(Path dir, Map<String, byte[]> files) {
        Path target = dir.toAbsolutePath().normalize();
        Path parent = target.getParent();
        String name = target.getFileName().toString();
        for (String file : files.keySet()) {
            if (file.isEmpty() || file.equals(".") || file.equals("..") || file.contains("/") || file.contains("\\")) {
                throw new IllegalArgumentException("snapshot file name '" + file + "' must be a plain file name");
            }
        }
        Path tmp = null;
        try {
            Files.createDirectories(parent);
            tmp = Files.createTempDirectory(parent, "." + name + ".tmp-");
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                Files.write(tmp.resolve(f.getKey()), f.getValue());
            }
            if (Files.exists(target)) {
                Path old = parent.resolve("." + name + ".old-" + UUID.randomUUID());
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                deleteRecursively(old);
            } else {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            }
            tmp = null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write SAE snapshot " + target, e);
        } finally {
            if (tmp != null) {
                try {
                    deleteRecursively(tmp);
                } catch (IOException ignored) {
                    // best effort: the temporary directory is hidden and named as such
                }
            }
        }
    }

    /** Reads a directory written by {@link #write} (or by SAELens: then the config is rebuilt from defaults). */
    public static LoadedSae read(Path dir) {
        Path cfgFile = dir.resolve(CONFIG_FILE);
        JsonNode cfg;
        try {
            cfg = JSON.readTree(Files.readAllBytes(cfgFile));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + cfgFile, e);
        }
        int dIn = requiredInt(cfg, "d_in", cfgFile);
        int dSae = requiredInt(cfg, "d_sae", cfgFile);
        String architectureName = cfg.path("architecture").asText("standard");
        SaeArchitecture architecture = architecture(cfg.path("training_architecture").asText(architectureName), cfg,
                dIn, cfgFile);
        SaeConfig defaults = SaeConfig.withDefaults(cfg.path("sae_id").asText(dir.getFileName().toString()), dIn, dSae,
                architecture);
        SaeConfig config = new SaeConfig(defaults.saeId(), dIn, dSae, architecture,
                cfg.path("lr").asDouble(defaults.learningRate()),
                cfg.path("adam_beta1").asDouble(defaults.beta1()),
                cfg.path("adam_beta2").asDouble(defaults.beta2()),
                cfg.path("adam_epsilon").asDouble(defaults.epsilon()),
                cfg.path("train_batch_size_tokens").asInt(defaults.batchSize()),
                cfg.path("seed").asLong(defaults.seed()),
                textOr(cfg, "hook_name", defaults.hookName()),
                textOr(cfg, "model_name", defaults.modelName()),
                cfg.path("dead_window_tokens").asLong(defaults.deadWindowTokens()));

        Path weightsFile = dir.resolve(WEIGHTS_FILE);
        Safetensors.Contents weights = Safetensors.read(weightsFile);
        float[] wEnc = floats(weights, SaeParameters.W_ENC, weightsFile, dIn, dSae);
        float[] wDec = floats(weights, SaeParameters.W_DEC, weightsFile, dSae, dIn);
        float[] bEnc = floats(weights, SaeParameters.B_ENC, weightsFile, dSae);
        float[] bDec = floats(weights, SaeParameters.B_DEC, weightsFile, dIn);
        boolean hasThreshold = weights.tensors().containsKey(THRESHOLD_TENSOR);
        if (architectureName.equals("jumprelu") && !hasThreshold) {
            throw new IllegalArgumentException(weightsFile + ": a jumprelu SAE needs a '" + THRESHOLD_TENSOR
                    + "' tensor");
        }
        float[] threshold = hasThreshold ? floats(weights, THRESHOLD_TENSOR, weightsFile, dSae) : new float[0];

        Path sparsityFile = dir.resolve(SPARSITY_FILE);
        float[] sparsity = Files.exists(sparsityFile)
                ? floats(Safetensors.read(sparsityFile), SPARSITY_TENSOR, sparsityFile, dSae)
                : new float[0];
        return new LoadedSae(config, architectureName, cfg.path("hook_layer").asInt(0),
                cfg.path("tokens_seen").asLong(0), cfg.path("steps").asLong(0), wEnc, bEnc, wDec, bDec, threshold,
                sparsity);
    }

    /**
     * The typed architecture from its SAELens name and cfg.json's hyperparameter keys, with saestream's
     * defaults for keys a SAELens-written file lacks (k has none: a topk or batchtopk file must carry it).
     */
    private static SaeArchitecture architecture(String name, JsonNode cfg, int dIn, Path file) {
        return switch (name) {
            case "standard" -> new ReluL1(cfg.path("l1_coefficient").asDouble(SaeConfig.DEFAULT_L1_COEFFICIENT),
                    cfg.path("l1_warm_up_steps").asLong(0));
            case "topk" -> new TopK(requiredInt(cfg, "k", file),
                    cfg.path("k_aux").asInt(TopK.defaultAuxK(dIn)),
                    cfg.path("aux_loss_coefficient").asDouble(TopK.DEFAULT_AUX_K_COEFFICIENT));
            case "batchtopk" -> new BatchTopK(requiredInt(cfg, "k", file),
                    cfg.path("k_aux").asInt(TopK.defaultAuxK(dIn)),
                    cfg.path("aux_loss_coefficient").asDouble(TopK.DEFAULT_AUX_K_COEFFICIENT),
                    cfg.path("topk_threshold_lr").asDouble(BatchTopK.DEFAULT_THRESHOLD_LEARNING_RATE));
            case "jumprelu" -> new JumpReLU(cfg.path("l0_coefficient").asDouble(SaeConfig.DEFAULT_L0_COEFFICIENT),
                    cfg.path("jumprelu_bandwidth").asDouble(JumpReLU.DEFAULT_BANDWIDTH),
                    cfg.path("jumprelu_init_threshold").asDouble(JumpReLU.DEFAULT_INITIAL_THRESHOLD),
                    cfg.path("l0_warm_up_steps").asLong(0));
            default -> throw new IllegalArgumentException(file + ": unsupported architecture '" + name
                    + "', expected standard, topk, batchtopk or jumprelu");
        };
    }

    private static int requiredInt(JsonNode cfg, String key, Path file) {
        JsonNode n = cfg.get(key);
        if (n == null || !n.canConvertToInt()) {
            throw new IllegalArgumentException(file + ": \"" + key + "\" must be an integer, got " + n);
        }
        return n.intValue();
    }

    private static String textOr(JsonNode cfg, String key, String fallback) {
        JsonNode n = cfg.get(key);
        return n == null || n.isNull() ? fallback : n.asText();
    }

    /** A float tensor widened to float32 after checking its shape (F32, F16, BF16 and F64 accepted). */
    private static float[] floats(Safetensors.Contents contents, String name, Path file, long... shape) {
        Tensor t = contents.require(name, file);
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(file + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                    + ", expected " + Arrays.toString(shape));
        }
        if (!t.dtype().isFloat16Or32() && t.dtype() != DType.F64) {
            throw new IllegalArgumentException(file + ": tensor '" + name + "' is " + t.dtype() + ", expected a float");
        }
        return t.toFloats();
    }

    private static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
