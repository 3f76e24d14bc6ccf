package org.saestream.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine;

import java.io.PrintWriter;

/** The saestream command line: one entry point, one subcommand per thing a user runs. */
@Command(name = "saestream", mixinStandardHelpOptions = true, version = "saestream 0.1.0",
        description = "Streaming activation pipeline: Kafka topics of activations, SAEs trained online on Flink.",
        subcommands = {DemoCommand.class, ProduceCommand.class, TrainCommand.class, ReplayCommand.class, SinkCommand.class,
                SpectrumCommand.class, StopCommand.class, ClusterCommand.class, TrainLmCommand.class,
                ExportCommand.class, EvalCommand.class, BaselineCommand.class,
                ActivationsCommand.class, BenchCommand.class, EngineCommand.class, StudyCommand.class,
                HessianCommand.class, HessianSteerCommand.class})
public final class Main implements Runnable {
    @Option(names = "--verbose", scope = ScopeType.INHERIT,
            description = "On failure, print the stack trace as well as the one-line message")
    boolean verbose;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        Main main = new Main();
        return new CommandLine(main)
                .setExecutionExceptionHandler((e, cmd, parsed) -> report(e, cmd.getCommandName(), cmd.getErr(), main.verbose))
                .execute(args);
    }

    /**
     * One line naming the problem. A mistake in what the user gave (an option, a file, an address: see
     * {@link UserErrors}) exits 2; anything else exits 1 and says where the details are.
     */
    static int report(Exception e, String command, PrintWriter err, boolean verbose) {
        var userError = UserErrors.describe(e);
        if (userError.isPresent()) {
            err.println("saestream " + command + ": " + userError.get());
        } else {
            err.println("saestream " + command + " failed: " + UserErrors.rootMessage(e)
                    + (verbose ? "" : " (--verbose prints the stack trace)"));
        }
        if (verbose) {
            e.printStackTrace(err);
        }
        err.flush();
        return userError.isPresent() ? 2 : 1;
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
