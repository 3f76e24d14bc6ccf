package org.saestream.cli;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.LibUtils;
import ai.djl.util.cuda.CudaUtils;
import picocli.CommandLine.Command;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * Which PyTorch the runtime loaded and which devices it sees: how a user checks a CUDA setup (a libtorch named by
 * PYTORCH_LIBRARY_PATH, see README: GPU) before a long run.
 */
@Command(name = "engine", mixinStandardHelpOptions = true,
        description = "Print the PyTorch build DJL loaded (version, library directory) and the GPUs it sees.")
public final class EngineCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        Engine engine = Engine.getEngine("PyTorch");
        int gpus = engine.getGpuCount();
        System.out.println("engine        " + engine.getEngineName() + " " + engine.getVersion() + " (DJL "
                + Engine.getDjlVersion() + ")");
        String libtorch = LibUtils.getLibtorchPath();
        System.out.println("libtorch      " + libtorch);
        // from where DJL actually loaded it, not from whether the variable is set
        String override = System.getenv("PYTORCH_LIBRARY_PATH");
        boolean fromOverride = override != null && Path.of(libtorch).toAbsolutePath().normalize()
                .equals(Path.of(override).toAbsolutePath().normalize());
        System.out.println("loaded from   " + (fromOverride ? "PYTORCH_LIBRARY_PATH"
                : "the native jar on the class path (extracted into DJL's cache)"));
        System.out.println("gpus          " + gpus + (gpus > 0 ? String.format(Locale.ROOT, " (CUDA %s)",
                CudaUtils.getCudaVersionString()) : ""));
        System.out.println("default       " + engine.defaultDevice());
        return 0;
    }
}
