package org.saestream.neuronpedia;

import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * A Hugging Face model directory's unembedding W_U [vocab, d_model], for logit effects: the output head where the
 * model has its own (GPT-NeoX's embed_out, lm_head), else the input embedding it is tied to.
 */
public final class Unembedding {
    private static final List<String> NAMES = List.of("embed_out.weight", "lm_head.weight", "gpt_neox.embed_in.weight",
            "transformer.wte.weight", "model.embed_tokens.weight", "wte.weight");

    private Unembedding() {
    }

    /** Row-major [vocab, d_model]; fails naming the directory when no file holds one of the known names. */
    public static float[] read(Path modelDir, int dModel) {
        List<Path> files;
        try (Stream<Path> entries = Files.list(modelDir)) {
            files = entries.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the model directory " + modelDir, e);
        }
        for (String name : NAMES) {
            for (Path file : files) {
                Safetensors.Contents contents = Safetensors.read(file);
                Tensor t = contents.tensors().get(name);
                if (t != null) {
                    long[] shape = t.shape();
                    if (shape.length != 2 || shape[1] != dModel) {
                        throw new IllegalArgumentException(file + ": " + name + " has shape "
                                + java.util.Arrays.toString(shape) + ", not [vocab, " + dModel + "]: logit effects need "
                                + "an SAE on the residual stream (d_in = the model's width)");
                    }
                    return t.toFloats();
                }
            }
        }
        throw new IllegalArgumentException(modelDir + ": no unembedding in its safetensors (looked for " + NAMES + ")");
    }
}
