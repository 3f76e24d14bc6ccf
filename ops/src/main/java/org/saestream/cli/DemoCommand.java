package org.saestream.cli;

import org.saestream.produce.synthetic.SyntheticConfig;
import org.saestream.tensor.DType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;

/**
 * The whole pipeline in one JVM on the embedded stack: a producer (the shipped model over the shipped corpus, a
 * synthetic source with known features, or a language model being trained), the Flink jobs and the sink with its
 * dashboard. The options are read here; each kind of demo composes an {@link org.saestream.embedded.EmbeddedStack}.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run producer, training job and sink together on the embedded stack.")
public final class DemoCommand implements Callable<Integer> {
    @Option(names = "--source", description = "Activation source: lm (a language model over the shipped corpus) or"
            + " synthetic (known ground-truth features, scored live) (default: ${DEFAULT-VALUE})")
    String source = "lm";

    @Option(names = "--model", description = "With --source lm: Hugging Face model directory (default: ${DEFAULT-VALUE},"
            + " the shipped model)")
    Path model = Shipped.MODEL;

    @Option(names = "--train-live", description = "Train a fresh copy of the shipped model instead, while the spectrum"
            + " job watches its gradients and an SAE its activations (at --lm-hook) as they form")
    boolean trainLive;

    @Option(names = "--train-config", description = "With --train-live: the train-lm config (default: ${DEFAULT-VALUE})")
    Path trainConfig = Shipped.MODEL_CONFIG;

    @Option(names = "--train-steps", description = "With --train-live: optimizer steps (default: ${DEFAULT-VALUE};"
            + " the shipped model took 2000)")
    long trainSteps = 300;

    @Option(names = "--tap-every", description = "With --train-live: publish activations every N steps (default:"
            + " ${DEFAULT-VALUE})")
    int tapEvery = 1;

    @Option(names = "--spectrum-every", description = "With --train-live: a spectrum record every S steps (default:"
            + " ${DEFAULT-VALUE})")
    int spectrumEvery = 10;

    @Option(names = "--hessian-every", description = "With --train-live: the loss Hessian's top 3 eigenvalues on 256 "
            + "tokens every M steps (train-lm --hessian-every; 0: never) (default: ${DEFAULT-VALUE})")
    int hessianEvery = 50;

    @Option(names = "--serve", description = "Keep the sink and dashboard up after the demo ends, until Ctrl-C")
    boolean serve;

    @Option(names = "--tokenizer", description = "With --source lm: tokenizer.json (default: the model directory's)")
    Path tokenizer;

    @Option(names = "--corpus", description = "With --source lm: corpus shards (default: ${DEFAULT-VALUE})")
    Path corpus = Path.of("corpus", "pd-en");

    @Option(names = "--lm-hook", description = "With --source lm: the hook the SAE trains on (default: ${DEFAULT-VALUE})")
    String lmHook = "blocks.0.hook_resid_post";

    @Option(names = "--context", description = "With --source lm: tokens per context window (default: ${DEFAULT-VALUE})")
    int context = 128;

    @Option(names = "--tokens", description = "Tokens to produce (default: ${DEFAULT-VALUE})")
    long tokens = 3_000_000;

    @Option(names = "--workdir", description = "Working directory (default: work/demo-<time>)")
    Path workdir;

    @Option(names = "--run", description = "Run name: activations.<run> (default: ${DEFAULT-VALUE})")
    String run = "demo";

    @Option(names = "--experiment", description = "Experiment name (default: ${DEFAULT-VALUE})")
    String experiment = "demo";

    @Option(names = "--true-features", description = "Ground-truth features (default: ${DEFAULT-VALUE})")
    int trueFeatures = 256;

    @Option(names = "--hierarchy", paramLabel = "PARENTS:CHILDREN[:P]", converter = HierarchyConverter.class,
            description = "With --source synthetic: the first PARENTS true features are parents, each with CHILDREN"
                    + " children that fire only with it (one of them with probability P, default 0.8, when the parent"
                    + " fires); the summary then says how much of each parent the SAE absorbed into its children")
    SyntheticConfig.Hierarchy hierarchy = SyntheticConfig.Hierarchy.none();

    /** "16:4" or "16:4:0.8". */
    static final class HierarchyConverter implements CommandLine.ITypeConverter<SyntheticConfig.Hierarchy> {
        @Override
        public SyntheticConfig.Hierarchy convert(String value) {
            String[] parts = value.split(":");
            if (parts.length < 2 || parts.length > 3) {
                throw new CommandLine.TypeConversionException("expected PARENTS:CHILDREN[:P], e.g. 16:4:0.8, got '"
                        + value + "'");
            }
            try {
                return new SyntheticConfig.Hierarchy(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()),
                        parts.length == 3 ? Double.parseDouble(parts[2].trim()) : 0.8);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("'" + value + "': " + e.getMessage());
            }
        }
    }

    @Option(names = "--block-tokens", description = "Tokens per ActivationBlock record (default: ${DEFAULT-VALUE})")
    int blockTokens = 1024;

    @Option(names = "--dtype", description = "Wire dtype F32, F16 or BF16 (default: ${DEFAULT-VALUE})")
    DType dtype = DType.F32;

    @Option(names = "--http-port", description = "Sink HTTP port, 0 = any free port (default: ${DEFAULT-VALUE})")
    int httpPort = 0;

    @Mixin
    SaeOptions sae;

    @Override
    public Integer call() throws Exception {
        Path dir = (workdir != null ? workdir
                : Path.of("work", "demo-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"))))
                .toAbsolutePath();
        if (hierarchy.parents() > 0 && (trainLive || !source.equals("synthetic"))) {
            throw new IllegalArgumentException("--hierarchy applies to --source synthetic only");
        }
        if (trainLive) {
            return TrainLiveDemo.run(this, dir);
        }
        return switch (source) {
            case "lm" -> LmDemo.run(this, dir);
            case "synthetic" -> SyntheticDemo.run(this, dir);
            default -> throw new IllegalArgumentException("--source " + source + ": expected synthetic or lm");
        };
    }
}
