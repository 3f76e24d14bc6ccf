package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.nio.file.Path;

/**
 * An SAE read from a directory (a saestream snapshot or export, or a SAELens directory) to run at inference on raw
 * activations, as SAELens runs it: the weights converted exactly as for fine-tuning ({@link PretrainedWeights}) and
 * the activation scale applied on the way in and undone on the way out.
 */
public final class InferenceSae implements AutoCloseable {
    private final SaeConfig config;
    private final long tokensSeen;
    private final SaeParameters params;
    private final double scale;

    private InferenceSae(SaeConfig config, long tokensSeen, SaeParameters params, double scale) {
        this.config = config;
        this.tokensSeen = tokensSeen;
        this.params = params;
        this.scale = scale;
    }

    /** Reads the directory (once); the parameters live in {@code manager} until {@link #close()}. */
    public static InferenceSae load(Path dir, NDManager manager) {
        LoadedSae loaded = SaeLensFormat.read(dir);
        SaeConfig config = loaded.config();
        PretrainedWeights weights = PretrainedWeights.of(config, loaded, dir);
        SaeParameters params = SaeParameters.fromFloats(manager, config.shape(), config.architecture(),
                weights.values());
        return new InferenceSae(config, loaded.tokensSeen(), params, weights.scale());
    }

    public SaeConfig config() {
        return config;
    }

    /** Tokens the SAE had trained on when the directory was written (0 when it does not say). */
    public long tokensSeen() {
        return tokensSeen;
    }

    /**
     * Latents [N, dSae] and reconstruction [N, dOut] (a transcoder's of its output hook; dOut = dIn otherwise) of raw
     * float32 activations x [N, dIn], in raw units;
     * temporaries belong to the caller's scope.
     */
    public SaeArchitecture.Forward forward(NDArray x) {
        NDArray in = scale == 1.0 ? x : x.mul((float) scale);
        SaeArchitecture.Forward f = config.architecture().forward(params, in);
        NDArray reconstruction = scale == 1.0 ? f.reconstruction() : f.reconstruction().div((float) scale);
        return new SaeArchitecture.Forward(f.latents(), reconstruction);
    }

    @Override
    public void close() {
        params.close();
    }
}
