package org.saestream.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.jobmanager.JobManagerProcessSpec;
import org.apache.flink.runtime.jobmanager.JobManagerProcessUtils;
import org.apache.flink.runtime.util.config.memory.ProcessMemoryUtils;
import org.apache.kafka.common.Uuid;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.KafkaUnreachableException;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * A Kafka KRaft cluster and a Flink standalone session cluster on this machine, each process a separate JVM started
 * from Maven's jars with the configuration files of {@code ops/cluster/conf/} (copied into the work directory with
 * this cluster's addresses). What was started is kept in {@link ClusterFile}, so that status, down and restart act
 * on exactly those processes. Every wait is bounded and says what it waited for.
 */
public final class LocalCluster {
    private static final String JOBMANAGER_MAIN = "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint";
    private static final String TASKMANAGER_MAIN = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner";
    private static final String HOST = "127.0.0.1";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

    private LocalCluster() {
    }

    /**
     * @param kafkaPort  the first broker's port (the others follow it); 0 picks free ports
     * @param flinkPort  the JobManager's REST port; 0 picks a free one
     */
    public record Plan(Path workdir, int brokers, int taskManagers, int slots, int kafkaPort, int flinkPort) {
        public Plan {
            workdir = workdir.toAbsolutePath();
            if (brokers != 1 && brokers != 3) {
                throw new IllegalArgumentException("--brokers must be 1 or 3 (a KRaft quorum of one or three), got "
                        + brokers);
            }
            if (taskManagers < 1 || slots < 1) {
                throw new IllegalArgumentException("--taskmanagers and --slots must be at least 1");
            }
        }
    }

    /** Starts every member, waits until Kafka and Flink (with every TaskManager registered) answer. */
    public static ClusterFile up(Plan plan, Consumer<String> say) {
        Path workdir = plan.workdir();
        if (Files.exists(workdir.resolve(ClusterFile.NAME))) {
            List<Member> running = ClusterFile.read(workdir).members().stream().filter(Member::alive).toList();
            if (!running.isEmpty()) {
                throw new IllegalArgumentException("a cluster is already up in " + workdir + " ("
                        + running.stream().map(m -> m.name() + " pid " + m.pid()).collect(Collectors.joining(", "))
                        + "): saestream cluster down --workdir " + workdir);
            }
        }
        createDirectories(workdir.resolve("logs"));
        Path log4j = workdir.resolve("conf").resolve("log4j2-cluster.xml");
        writeString(log4j, ConfFile.log4j());

        List<Member> members = new ArrayList<>();
        // every port this cluster needs, found at once: asked one at a time, the system may give one out twice
        int[] free = freePorts(2 * plan.brokers() + 2);
        List<Integer> brokerPorts = new ArrayList<>();
        List<Integer> controllerPorts = new ArrayList<>();
        for (int i = 0; i < plan.brokers(); i++) {
            brokerPorts.add(plan.kafkaPort() == 0 ? free[2 * i] : plan.kafkaPort() + i);
            controllerPorts.add(free[2 * i + 1]);
        }
        String voters = "";
        for (int i = 0; i < plan.brokers(); i++) {
            voters += (i == 0 ? "" : ",") + (i + 1) + "@" + HOST + ":" + controllerPorts.get(i);
        }
        String bootstrap = brokerPorts.stream().map(p -> HOST + ":" + p).collect(Collectors.joining(","));
        String clusterId = Uuid.randomUuid().toString();
        int replication = plan.brokers();
        for (int i = 0; i < plan.brokers(); i++) {
            String name = "kafka-" + (i + 1);
            Path dir = workdir.resolve(name);
            Path properties = dir.resolve("server.properties");
            ConfFile.kafkaServer()
                    .set("node.id", i + 1)
                    .set("controller.quorum.voters", voters)
                    .set("listeners", "PLAINTEXT://" + HOST + ":" + brokerPorts.get(i) + ",CONTROLLER://" + HOST + ":"
                            + controllerPorts.get(i))
                    .set("advertised.listeners", "PLAINTEXT://" + HOST + ":" + brokerPorts.get(i))
                    .set("log.dirs", dir.resolve("data"))
                    .set("default.replication.factor", replication)
                    .set("min.insync.replicas", Math.min(2, replication))
                    .set("offsets.topic.replication.factor", replication)
                    .set("transaction.state.log.replication.factor", replication)
                    .set("transaction.state.log.min.isr", Math.min(2, replication))
                    .set("share.coordinator.state.topic.replication.factor", replication)
                    .set("share.coordinator.state.topic.min.isr", Math.min(2, replication))
                    .write(properties);
            if (!Files.exists(dir.resolve("data").resolve("meta.properties"))) {
                format(properties, clusterId, workdir.resolve("logs").resolve(name + ".log"));
            }
            members.add(new Member(name, Member.Role.KAFKA, javaCommand(List.of("-Xmx1g", "-Xms256m"), log4j,
                    ClusterClasspath.all(), "kafka.Kafka", List.of(properties.toString())),
                    workdir.resolve("logs").resolve(name + ".log"), 0, 0));
        }

        int restPort = plan.flinkPort() == 0 ? free[free.length - 1] : plan.flinkPort();
        Path flinkConf = workdir.resolve("flink").resolve("conf");
        ConfFile.flink()
                .set("jobmanager.rpc.port", free[free.length - 2])
                .set("rest.port", restPort)
                .set("taskmanager.numberOfTaskSlots", plan.slots())
                .set("execution.checkpointing.dir", workdir.resolve("flink").resolve("checkpoints").toUri())
                .set("execution.checkpointing.savepoint-dir", workdir.resolve("flink").resolve("savepoints").toUri())
                .set("io.tmp.dirs", workdir.resolve("flink").resolve("tmp"))
                .write(flinkConf.resolve("config.yaml"));
        createDirectories(workdir.resolve("flink").resolve("tmp"));
        Configuration conf = GlobalConfiguration.loadConfiguration(flinkConf.toString());
        members.add(jobManager(workdir, flinkConf, conf, log4j));
        for (int i = 1; i <= plan.taskManagers(); i++) {
            members.add(taskManager(workdir, "taskmanager-" + i, flinkConf, conf, log4j));
        }

        ClusterFile cluster = new ClusterFile(bootstrap, HOST + ":" + restPort, members);
        try {
            for (Member m : members) {
                Member started = start(m);
                cluster = cluster.with(started);
                cluster.write(workdir);
                say.accept("started " + m.name() + " (pid " + started.pid() + ", log " + m.log() + ")");
                if (m.role() == Member.Role.JOBMANAGER) {
                    awaitKafka(cluster); // every broker has started by now; the quorum forms while Flink starts
                }
            }
            awaitFlink(cluster, plan.taskManagers());
        } catch (RuntimeException e) {
            stopAll(cluster, say);
            throw e;
        }
        return cluster;
    }

    /** Stops every member that is still the process this cluster started: TaskManagers first, Kafka last. */
    public static ClusterFile down(Path workdir, Consumer<String> say) {
        ClusterFile cluster = ClusterFile.read(workdir.toAbsolutePath());
        stopAll(cluster, say);
        return cluster;
    }

    /** Brings one member back (stopping it first if it runs), as it was started, and waits until it has rejoined. */
    public static Member restart(Path workdir, String name, Consumer<String> say) {
        Path dir = workdir.toAbsolutePath();
        ClusterFile cluster = ClusterFile.read(dir);
        Member member = cluster.member(name);
        // a killed TaskManager stays registered until the JobManager misses its heartbeats: wait for the new one
        Map<String, String> stale = member.role() == Member.Role.TASKMANAGER
                ? registeredTaskManagers(cluster) : Map.of();
        if (member.alive()) {
            stop(member, say);
        }
        Member started = start(member);
        cluster = cluster.with(started);
        cluster.write(dir);
        say.accept("started " + name + " (pid " + started.pid() + ", log " + member.log() + ")");
        switch (member.role()) {
            case KAFKA -> awaitKafka(cluster);
            case JOBMANAGER -> awaitFlink(cluster, 0);
            case TASKMANAGER -> awaitTaskManagers(cluster, Set.of(name), stale);
        }
        return started;
    }

    /** One line per member (name, PID, running or not, log) and what the two clusters answer. */
    public static List<String> status(Path workdir) {
        ClusterFile cluster = ClusterFile.read(workdir.toAbsolutePath());
        List<String> lines = new ArrayList<>();
        for (Member m : cluster.members()) {
            lines.add(String.format("%-14s pid %-8d %-8s %s", m.name(), m.pid(), m.alive() ? "running" : "stopped",
                    m.log()));
        }
        try (KafkaAdmin ignored = KafkaAdmin.connect(cluster.bootstrap(), Duration.ofSeconds(5))) {
            lines.add("kafka  " + cluster.bootstrap() + "  answers");
        } catch (KafkaUnreachableException e) {
            lines.add("kafka  " + cluster.bootstrap() + "  " + e.getMessage());
        }
        try {
            JsonNode overview = rest(cluster).requireAnswer();
            lines.add("flink  http://" + cluster.flinkRest() + "  " + overview.path("taskmanagers").asInt()
                    + " taskmanagers, " + overview.path("slots-available").asInt() + " of "
                    + overview.path("slots-total").asInt() + " slots free, " + overview.path("jobs-running").asInt()
                    + " jobs running");
        } catch (FlinkUnreachableException e) {
            lines.add("flink  " + e.getMessage());
        }
        return lines;
    }

    private static Member jobManager(Path workdir, Path confDir, Configuration conf, Path log4j) {
        JobManagerProcessSpec spec = JobManagerProcessUtils.processSpecFromConfig(conf);
        List<String> jvm = words(JobManagerProcessUtils.generateJvmParametersStr(spec, conf));
        List<String> args = new ArrayList<>(List.of("--configDir", confDir.toString()));
        args.addAll(words(JobManagerProcessUtils.generateDynamicConfigsStr(spec)));
        List<String> opts = new ArrayList<>(jvm);
        opts.addAll(words(conf.getString("env.java.opts.all", "")));
        return new Member("jobmanager", Member.Role.JOBMANAGER, javaCommand(opts, log4j, ClusterClasspath.flink(),
                JOBMANAGER_MAIN, args), workdir.resolve("logs").resolve("jobmanager.log"), 0, 0);
    }

    private static Member taskManager(Path workdir, String name, Path confDir, Configuration conf, Path log4j) {
        TaskExecutorProcessSpec spec = TaskExecutorProcessUtils.processSpecFromConfig(conf);
        List<String> opts = new ArrayList<>(words(ProcessMemoryUtils.generateJvmParametersStr(spec)));
        opts.addAll(words(conf.getString("env.java.opts.all", "")));
        // DJL runs offline, with the native PyTorch this installation already extracted
        opts.add("-Dai.djl.offline=true");
        String djlCache = System.getProperty("DJL_CACHE_DIR");
        if (djlCache != null && !djlCache.isBlank()) {
            opts.add("-DDJL_CACHE_DIR=" + djlCache);
        }
        List<String> args = new ArrayList<>(List.of("--configDir", confDir.toString()));
        args.addAll(words(TaskExecutorProcessUtils.generateDynamicConfigsStr(spec)));
        args.addAll(List.of("-D", "taskmanager.resource-id=" + name));
        return new Member(name, Member.Role.TASKMANAGER, javaCommand(opts, log4j, ClusterClasspath.flink(),
                TASKMANAGER_MAIN, args), workdir.resolve("logs").resolve(name + ".log"), 0, 0);
    }

    private static List<String> javaCommand(List<String> jvmOptions, Path log4j, String classpath, String main,
                                            List<String> args) {
        List<String> command = new ArrayList<>();
        // its own session: a Ctrl-C in the terminal that ran `cluster up` does not reach the cluster
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            command.add("/usr/bin/setsid");
        }
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.add("-Dlog4j2.configurationFile=" + log4j);
        command.addAll(List.of("-cp", classpath, main));
        command.addAll(args);
        return command;
    }

    private static Member start(Member member) {
        ProcessBuilder pb = new ProcessBuilder(member.command()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(member.log().toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("OPT_OUT_TRACKING", "true");
        pb.environment().put("DJL_OFFLINE", "true");
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        try {
            return member.started(pb.start().toHandle());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + member.name() + ": " + e.getMessage(), e);
        }
    }

    private static void format(Path properties, String clusterId, Path log) {
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "-cp", ClusterClasspath.all(), "kafka.tools.StorageTool", "format", "-t", clusterId, "-c",
                properties.toString());
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("formatting Kafka storage with " + properties + " took over 60 s (see "
                        + log + ")");
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException("formatting Kafka storage with " + properties + " failed (exit "
                        + p.exitValue() + "; see " + log + ")");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run Kafka's StorageTool: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while formatting Kafka storage", e);
        }
    }

    private static void awaitKafka(ClusterFile cluster) {
        try (KafkaAdmin ignored = KafkaAdmin.connect(cluster.bootstrap(), START_TIMEOUT)) {
            // answers: the quorum has a leader and a broker serves
        } catch (KafkaUnreachableException e) {
            throw new IllegalStateException("Kafka did not come up: " + e.getMessage() + " (see " + cluster.members()
                    .stream().filter(m -> m.role() == Member.Role.KAFKA).map(Member::log).toList() + ")", e);
        }
    }

    private static void awaitFlink(ClusterFile cluster, int taskManagers) {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        FlinkRest rest = rest(cluster);
        while (true) {
            try {
                rest.requireAnswer();
                break;
            } catch (FlinkUnreachableException e) {
                Member jm = cluster.member("jobmanager");
                if (!jm.alive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("the Flink JobManager did not answer at http://" + cluster.flinkRest()
                            + " within " + START_TIMEOUT.toSeconds() + " s (see " + jm.log() + ")", e);
                }
                sleep();
            }
        }
        Set<String> names = new HashSet<>();
        for (int i = 1; i <= taskManagers; i++) {
            names.add("taskmanager-" + i);
        }
        awaitTaskManagers(cluster, names, Map.of());
    }

    /** The TaskManagers registered with the JobManager: resource id to RPC address (empty when it does not answer). */
    private static Map<String, String> registeredTaskManagers(ClusterFile cluster) {
        Map<String, String> registered = new HashMap<>();
        try {
            for (JsonNode tm : rest(cluster).get("/taskmanagers").path("taskmanagers")) {
                registered.put(tm.path("id").asText(), tm.path("path").asText());
            }
        } catch (FlinkUnreachableException e) {
            // the JobManager may be restarting; the caller's deadline bounds the wait
        }
        return registered;
    }

    /**
     * Until each named TaskManager has registered with the JobManager, from an RPC address other than its
     * {@code stale} one (that of a killed process the JobManager has not yet given up on).
     */
    private static void awaitTaskManagers(ClusterFile cluster, Set<String> names, Map<String, String> stale) {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            Map<String, String> registered = registeredTaskManagers(cluster);
            List<String> missing = names.stream()
                    .filter(n -> !registered.containsKey(n) || registered.get(n).equals(stale.get(n))).sorted().toList();
            if (missing.isEmpty()) {
                return;
            }
            for (String name : missing) {
                Member m = cluster.member(name);
                if (!m.alive()) {
                    throw new IllegalStateException(name + " exited before registering (see " + m.log() + ")");
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(missing + " did not register with the JobManager at http://"
                        + cluster.flinkRest() + " within " + START_TIMEOUT.toSeconds() + " s (see their logs in "
                        + cluster.member(missing.get(0)).log().getParent() + ")");
            }
            sleep();
        }
    }

    /**
     * TaskManagers, then the JobManager, one by one; then every Kafka node at once, as kafka-server-stop.sh does (a
     * KRaft node stopped after a majority of the quorum has gone waits in vain for a controller).
     */
    private static void stopAll(ClusterFile cluster, Consumer<String> say) {
        List<Member> reversed = new ArrayList<>(cluster.members());
        java.util.Collections.reverse(reversed);
        for (Member m : reversed) {
            if (m.role() != Member.Role.KAFKA && m.alive()) {
                stop(m, say);
            }
        }
        List<Member> brokers = reversed.stream().filter(m -> m.role() == Member.Role.KAFKA && m.alive()).toList();
        brokers.forEach(m -> ProcessHandle.of(m.pid()).ifPresent(ProcessHandle::destroy));
        brokers.forEach(m -> stop(m, say));
    }

    private static void stop(Member m, Consumer<String> say) {
        ProcessHandle.of(m.pid()).ifPresent(p -> {
            p.destroy();
            try {
                p.onExit().get(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                say.accept("stopped " + m.name() + " (pid " + m.pid() + ")");
            } catch (Exception e) {
                p.destroyForcibly();
                say.accept("killed " + m.name() + " (pid " + m.pid() + "): it did not stop within "
                        + STOP_TIMEOUT.toSeconds() + " s");
            }
        });
    }

    /** The cluster's JobManager, each call bounded to 5 s. */
    private static FlinkRest rest(ClusterFile cluster) {
        return FlinkRest.of(cluster.flinkRest(), Duration.ofSeconds(5));
    }

    private static List<String> words(String text) {
        return Arrays.stream(text.trim().split("\\s+")).filter(w -> !w.isEmpty()).toList();
    }

    private static int[] freePorts(int n) {
        try {
            return EmbeddedKafka.freePorts(n);
        } catch (IOException e) {
            throw new UncheckedIOException("no free ports on " + HOST, e);
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(500);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the cluster", e);
        }
    }

    private static void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir, e);
        }
    }

    private static void writeString(Path file, String text) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
