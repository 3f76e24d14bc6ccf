package org.saestream.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.saestream.lm.ComputeDtype;
import org.saestream.lm.ForwardRequest;
import org.saestream.lm.ForwardResult;
import org.saestream.lm.HfTokenizer;
import org.saestream.lm.LanguageModel;
import org.saestream.lm.TokenBatch;
import org.saestream.tensor.Safetensors;
import org.saestream.tensor.Tensor;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Runs a Hugging Face model directory over one text and writes its activations (and optionally the
 * gradients of the mean next-token loss) at TransformerLens hooks to a safetensors file.
 */
@Command(name = "activations", mixinStandardHelpOptions = true,
        description = "Write activations (and gradients) of a Hugging Face model at TransformerLens hooks to safetensors.")
public final class ActivationsCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Hugging Face model directory (config.json, *.safetensors)")
    Path model;

    @ArgGroup(multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--text", description = "The text, exactly as given")
        String text;

        @Option(names = "--text-file", description = "A UTF-8 file whose exact contents are the text")
        Path textFile;
    }

    @Option(names = "--tokenizer", description = "tokenizer.json (default: the one in --model)")
    Path tokenizer;

    @Option(names = "--hooks", split = ",", description = "Hook names, e.g. blocks.1.hook_resid_post,blocks.0.mlp.hook_post")
    List<String> hooks = List.of();

    @Option(names = "--grad", description = "Also write grad/<hook>: d mean next-token loss / d activation")
    boolean grad;

    @Option(names = "--prepend-bos", description = "Force a BOS token in front of the text")
    boolean prependBos;

    @Option(names = "--device", converter = DeviceConverter.class,
            description = "cpu or cuda[:i] (CUDA needs the -Pcuda build) (default: cpu)")
    Device device = Device.cpu();

    @Option(names = "--dtype", converter = DtypeConverter.class,
            description = "Compute dtype: float32 or float16 (float16 is for CUDA; on CPU it is slow);"
                    + " bfloat16 is refused: DJL 0.35 cannot hold it. Outputs are float32 either way (default: float32)")
    ComputeDtype dtype = ComputeDtype.FLOAT32;

    @Option(names = "--out", required = true, description = "Output .safetensors file")
    Path out;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        checkDtype(spec, dtype, device);
        String text = input.text != null ? input.text : readUtf8(input.textFile);
        long[] ids;
        try (HfTokenizer tok = HfTokenizer.load(tokenizer != null ? tokenizer : model)) {
            ids = tok.encode(text, prependBos);
        }
        if (ids.length < 2) {
            throw new IllegalArgumentException("the text gives " + ids.length + " token(s); the loss needs at least 2");
        }
        String[] names = hooks.toArray(String[]::new);
        ForwardRequest request = ForwardRequest.of(names).withLoss();
        if (grad) {
            request = request.withGradients(names);
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("tokens", Tensor.ofLongs(ids, ids.length));
        double loss;
        try (LanguageModel lm = LanguageModel.load(model, device, dtype);
             NDManager manager = NDManager.newBaseManager(Device.cpu());
             ForwardResult result = lm.forward(manager, TokenBatch.of(ids), request)) {
            for (String hook : names) {
                tensors.put(hook, rows(result.activation(hook)));
            }
            if (grad) {
                for (String hook : names) {
                    tensors.put("grad/" + hook, rows(result.gradient(hook)));
                }
            }
            loss = result.loss().orElseThrow();
        }
        Safetensors.write(out, tensors, Map.of("loss", Double.toString(loss), "model", model.toString(),
                "compute_dtype", dtype.hfName()));
        System.out.printf(Locale.ROOT, "%d tokens, loss %.6f, %d hook(s), %s on %s -> %s%n", ids.length, loss,
                names.length, dtype, ComputeDtype.describe(device), out);
        return 0;
    }

    /** [1, T, width] → a float32 tensor [T, width]. */
    private static Tensor rows(NDArray batchOfOne) {
        long[] shape = batchOfOne.getShape().getShape();
        return Tensor.ofFloats(batchOfOne.toFloatArray(), shape[shape.length - 2], shape[shape.length - 1]);
    }

    /** The file's bytes as UTF-8, nothing stripped; invalid UTF-8 is an error naming the file. */
    private static String readUtf8(Path file) throws java.io.IOException {
        byte[] bytes = Files.readAllBytes(file);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(file + ": not valid UTF-8", e);
        }
    }

    /** A dtype the device cannot run is a usage error naming --dtype, before anything is loaded. */
    static void checkDtype(CommandSpec spec, ComputeDtype dtype, Device device) {
        try {
            dtype.checkSupported(device);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--dtype " + dtype + ": " + e.getMessage());
        }
    }

    /** --device: cpu, cuda, gpu or cuda:<index>. */
    static final class DeviceConverter implements ITypeConverter<Device> {
        @Override
        public Device convert(String value) {
            try {
                return parseDevice(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /** --dtype: float32, float16 or bfloat16 (and their short names); an unknown name lists the choices. */
    static final class DtypeConverter implements ITypeConverter<ComputeDtype> {
        @Override
        public ComputeDtype convert(String value) {
            try {
                return ComputeDtype.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    static Device parseDevice(String name) {
        String d = name.trim().toLowerCase(Locale.ROOT);
        if (d.equals("cpu")) {
            return Device.cpu();
        }
        if (d.equals("cuda") || d.equals("gpu")) {
            return Device.gpu();
        }
        if (d.matches("cuda:\\d{1,4}")) {
            return Device.gpu(Integer.parseInt(d.substring(5)));
        }
        throw new IllegalArgumentException("--device must be cpu, cuda or cuda:<index>, got '" + name + "'");
    }
}
