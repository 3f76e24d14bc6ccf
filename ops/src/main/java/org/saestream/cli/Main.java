package org.saestream.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The saestream command line: one entry point, one subcommand per thing a user runs. */
@Command(name = "saestream", mixinStandardHelpOptions = true, version = "saestream 0.1.0",
        description = "Streaming activation pipeline: Kafka topics of activations, SAEs trained online on Flink.",
        subcommands = {DemoCommand.class, ProduceCommand.class, TrainCommand.class, ReplayCommand.class, SinkCommand.class,
                SpectrumCommand.class, TrainLmCommand.class,
                ExportCommand.class,
                ActivationsCommand.class, BenchCommand.class})
public final class Main implements Runnable {
    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        return new CommandLine(new Main())
                .setExecutionExceptionHandler((e, cmd, parsed) -> {
                    if (e instanceof IllegalArgumentException) {
                        // a mistake in what the user gave (file, option, record): the message says which; no trace
                        cmd.getErr().println("saestream " + cmd.getCommandName() + ": " + e.getMessage());
                        return 2;
                    }
                    throw e;
                })
                .execute(args);
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
