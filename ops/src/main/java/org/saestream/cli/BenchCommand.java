package org.saestream.cli;

import picocli.CommandLine.Command;

/** Benchmarks that print figures; never run as tests. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks that print figures.",
        subcommands = {BenchSaeCommand.class, BenchLmCommand.class, BenchProduceCommand.class, TrainLmCommand.Bench.class})
public final class BenchCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }
}
