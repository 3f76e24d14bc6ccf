package org.saestream.cli;

import org.saestream.cluster.ClusterFile;
import org.saestream.cluster.LocalCluster;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code saestream cluster up|status|down|restart}: a Kafka and a Flink cluster of separate JVMs on this machine. */
@Command(name = "cluster", mixinStandardHelpOptions = true,
        description = "A local Kafka KRaft cluster and Flink standalone session cluster, each process its own JVM "
                + "(configuration from ops/cluster/conf, copied into the work directory).",
        subcommands = {ClusterCommand.Up.class, ClusterCommand.Status.class, ClusterCommand.Down.class,
                ClusterCommand.Restart.class})
public final class ClusterCommand implements Runnable {
    @Override
    public void run() {
        throw new IllegalArgumentException("give a subcommand: up, status, down or restart (saestream cluster --help)");
    }

    static final class Workdir {
        @Option(names = "--workdir", required = true, paramLabel = "DIR",
                description = "The cluster's directory: configuration, data, logs and cluster.json (its PIDs)")
        Path dir;
    }

    @Command(name = "up", mixinStandardHelpOptions = true, description = "Start the brokers, the JobManager and the "
            + "TaskManagers; print the Kafka bootstrap and Flink REST addresses.")
    static final class Up implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        Workdir workdir;

        @Option(names = "--brokers", description = "Kafka nodes, 1 or 3 (default: ${DEFAULT-VALUE})")
        int brokers = 1;

        @Option(names = "--taskmanagers", description = "Flink TaskManagers (default: ${DEFAULT-VALUE})")
        int taskManagers = 1;

        @Option(names = "--slots", description = "Task slots per TaskManager (default: ${DEFAULT-VALUE})")
        int slots = 2;

        @Option(names = "--kafka-port", description = "The first broker's port, the others follow; 0 picks free "
                + "ports (default: ${DEFAULT-VALUE})")
        int kafkaPort = 9092;

        @Option(names = "--flink-port", description = "The JobManager's REST port (web UI); 0 picks a free one "
                + "(default: ${DEFAULT-VALUE})")
        int flinkPort = 8081;

        @Override
        public Integer call() {
            ClusterFile cluster = LocalCluster.up(new LocalCluster.Plan(workdir.dir, brokers, taskManagers, slots,
                    kafkaPort, flinkPort), System.out::println);
            System.out.println("kafka bootstrap  " + cluster.bootstrap());
            System.out.println("flink            " + cluster.flinkRest() + "  (web UI http://" + cluster.flinkRest()
                    + "/)");
            System.out.println("submit with      saestream train --bootstrap " + cluster.bootstrap() + " --flink "
                    + cluster.flinkRest() + " ...");
            System.out.println("stop with        saestream cluster down --workdir " + workdir.dir);
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Each member's PID and state; what "
            + "Kafka and Flink answer.")
    static final class Status implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        Workdir workdir;

        @Override
        public Integer call() {
            LocalCluster.status(workdir.dir).forEach(System.out::println);
            return 0;
        }
    }

    @Command(name = "down", mixinStandardHelpOptions = true, description = "Stop exactly the processes `up` started "
            + "(TaskManagers, JobManager, then brokers); data and logs stay.")
    static final class Down implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        Workdir workdir;

        @Override
        public Integer call() {
            LocalCluster.down(workdir.dir, System.out::println);
            return 0;
        }
    }

    @Command(name = "restart", mixinStandardHelpOptions = true, description = "Start one member again as it was "
            + "started (stopping it first if it runs), e.g. after kill -9, and wait until it has rejoined.")
    static final class Restart implements Callable<Integer> {
        @picocli.CommandLine.Mixin
        Workdir workdir;

        @Parameters(paramLabel = "MEMBER", description = "kafka-N, jobmanager or taskmanager-N")
        String member;

        @Override
        public Integer call() {
            LocalCluster.restart(workdir.dir, member, System.out::println);
            return 0;
        }
    }
}
