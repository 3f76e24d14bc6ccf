package org.saestream.jobs;

import org.saestream.sae.DictionaryComparison;
import org.saestream.sae.SaeLensFormat;
import org.saestream.sae.SaeTrainer;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A dictionary the SAEs are scored against while they train: ground-truth features of a synthetic run,
 * or a past snapshot. Either a SAELens directory (its W_dec) or a safetensors file holding W_dec [n, d_in].
 */
final class ReferenceDictionary {
    private final String source;
    private final float[] rows;
    private final int dIn;
    private final double threshold;

    private ReferenceDictionary(String source, float[] rows, int dIn, double threshold) {
        this.source = source;
        this.rows = rows;
        this.dIn = dIn;
        this.threshold = threshold;
    }

    static ReferenceDictionary load(String pathText, double threshold) {
        Path path = Path.of(pathText);
        if (Files.isDirectory(path)) {
            var sae = SaeLensFormat.read(path);
            return new ReferenceDictionary(pathText, sae.wDec(), sae.config().dOut(), threshold);
        }
        if (!Files.isRegularFile(path)) {
            throw new IllegalArgumentException("reference dictionary " + path + " is neither a SAELens directory nor a file");
        }
        Tensor wDec = Safetensors.read(path).require("W_dec", path);
        if (wDec.shape().length != 2) {
            throw new IllegalArgumentException(path + ": W_dec must be [n, d_in], got " + wDec.shape().length + " dimensions");
        }
        return new ReferenceDictionary(pathText, wDec.toFloats(), (int) wDec.shape()[1], threshold);
    }

    /** How well the trainer's dictionary covers the reference (per reference feature: best cosine). */
    DictionaryComparison.Comparison compare(SaeTrainer trainer) {
        if (trainer.config().dOut() != dIn) {
            throw new IllegalArgumentException("reference dictionary " + source + " has rows of width " + dIn
                    + " but SAE " + trainer.config().saeId() + " decodes to " + trainer.config().dOut());
        }
        return DictionaryComparison.compare(rows, trainer.decoder(), dIn, threshold);
    }
}
