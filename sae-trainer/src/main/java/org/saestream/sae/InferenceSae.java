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
    private final SaeParameters params;
    private final double scale;

    private InferenceSae(SaeConfig config, SaeParameters params, double scale) {
        this.config = config;
        this.params = params;
        this.scale = scale;
    }

    /** Reads the directory; the parameters live in {@code manager} until {@link #close()}. */
    public static InferenceSae load(Path dir, NDManager manager) {
        SaeConfig config = SaeLensFormat.read(dir).config();
        PretrainedWeights weights = PretrainedWeights.load(config, dir);
        SaeParameters params = SaeParameters.fromFloats(manager, config.dIn(), config.dSae(), config.architecture(),
                weights.values());
        return new InferenceSae(config, params, weights.scale());
    }

    public SaeConfig config() {
        return config;
    }

    /**
     * Latents [N, dSae] and reconstruction [N, dIn] of raw float32 activations x [N, dIn], in raw units;
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
