package org.saestream.e2e;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.embedded.EmbeddedKafka;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Mistakes a user makes, as the command line answers them: exit code 2 and one line on stderr that names the
 * problem (no stack trace), within a bounded time, before anything is created or started.
 */
class UserErrorTest {
    private static final String NOWHERE = "127.0.0.1:1";

    @Test
    void everyCommandGivenAnUnreachableBootstrapFailsInBoundedTimeNamingTheAddress(@TempDir Path dir) throws Exception {
        Path corpus = Files.writeString(dir.resolve("doc.txt"), "In the beginning was the word.");
        Path experiment = Files.writeString(dir.resolve("exp.yaml"), "d_in: 64\nsaes:\n  - {id: a, d_sae: 128}\n");
        Path model = ShippedModelTest.shippedModel();
        List<String[]> commands = List.of(
                new String[] {"produce", "--model", model.toString(), "--corpus", corpus.toString(),
                        "--hooks", "blocks.0.hook_resid_post", "--run", "r"},
                new String[] {"train", "--run", "r", "--experiment", "e", "--checkpoint-dir",
                        dir.resolve("chk").toString(), "--rest-port", "0"},
                new String[] {"replay", "--topic", "activations.r", "--experiment", "e", "--config", experiment.toString(),
                        "--state-dir", dir.resolve("state").toString(), "--rest-port", "0"},
                new String[] {"sink", "--workdir", dir.resolve("sink").toString(), "--port", "0"},
                new String[] {"spectrum", "--run", "r", "--checkpoint-dir", dir.resolve("spectrum").toString(),
                        "--rest-port", "0"},
                new String[] {"train-lm", "--config", model.resolveSibling("pd-en-tiny.yaml").toString(),
                        "--corpus", corpus.toString(), "--run", "r", "--out", dir.resolve("lm").toString()});
        for (String[] command : commands) {
            List<String> args = new ArrayList<>(List.of(command));
            args.addAll(List.of("--bootstrap", NOWHERE, "--kafka-timeout", "2s"));
            Cli.Outcome o = assertTimeoutPreemptively(Duration.ofSeconds(60),
                    () -> Cli.run(args.toArray(String[]::new)), command[0] + " did not hang");
            assertOneLineUserError(o, command[0], "no Kafka cluster answered at " + NOWHERE + " within 2 s");
        }
        assertFalse(Files.exists(dir.resolve("chk")), "train created nothing");
        assertFalse(Files.exists(dir.resolve("lm")), "train-lm trained nothing");

        Cli.Outcome unresolvable = Cli.run("sink", "--bootstrap", "no-such-host.invalid:9092", "--workdir",
                dir.resolve("sink").toString(), "--port", "0", "--kafka-timeout", "2s");
        assertOneLineUserError(unresolvable, "sink", "no-such-host.invalid:9092");
    }

    @Test
    void everyJobCommandGivenAFlinkThatDoesNotAnswerFailsInBoundedTimeNamingTheAddress(@TempDir Path dir)
            throws Exception {
        Path experiment = Files.writeString(dir.resolve("exp.yaml"), "d_in: 64\nsaes:\n  - {id: a, d_sae: 128}\n");
        // a port that accepts connections and never answers: only the timeout can end the wait
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            String flink = "127.0.0.1:" + silent.getLocalPort();
            List<String[]> commands = List.of(
                    new String[] {"train", "--run", "r", "--experiment", "e", "--checkpoint-dir",
                            dir.resolve("chk").toString(), "--bootstrap", NOWHERE},
                    new String[] {"replay", "--topic", "activations.r", "--experiment", "e", "--config",
                            experiment.toString(), "--state-dir", dir.resolve("state").toString(), "--bootstrap", NOWHERE},
                    new String[] {"spectrum", "--run", "r", "--checkpoint-dir", dir.resolve("spectrum").toString(),
                            "--bootstrap", NOWHERE},
                    new String[] {"stop", "--job", "0123456789abcdef0123456789abcdef", "--timeout", "2s"});
            for (String[] command : commands) {
                List<String> args = new ArrayList<>(List.of(command));
                args.addAll(List.of("--flink", flink));
                if (!command[0].equals("stop")) {
                    args.addAll(List.of("--flink-timeout", "2s"));
                }
                Cli.Outcome o = assertTimeoutPreemptively(Duration.ofSeconds(30),
                        () -> Cli.run(args.toArray(String[]::new)), command[0] + " did not hang");
                assertOneLineUserError(o, command[0], "no Flink JobManager answered at http://" + flink
                        + " (no answer within 2 s)");
            }
        }
        assertOneLineUserError(Cli.run("train", "--run", "r", "--experiment", "e", "--checkpoint-dir",
                dir.resolve("chk").toString(), "--bootstrap", NOWHERE, "--flink", "localhost"), "train",
                "--flink 'localhost': expected HOST:PORT");
        assertFalse(Files.exists(dir.resolve("chk")), "train created nothing");
    }

    @Test
    void missingFilesAndABusyPortAreOneLineUserErrors(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("missing");
        assertOneLineUserError(Cli.run("produce", "--bootstrap", NOWHERE, "--model",
                        ShippedModelTest.shippedModel().toString(), "--corpus", missing.toString(),
                        "--hooks", "blocks.0.hook_resid_post", "--run", "r"),
                "produce", "--corpus " + missing + ": no such file or directory");
        assertOneLineUserError(Cli.run("train", "--bootstrap", NOWHERE, "--run", "r", "--experiment", "e",
                        "--checkpoint-dir", dir.resolve("chk").toString(), "--restore", missing.toString()),
                "train", "--restore " + missing + ": no such file or directory");
        assertOneLineUserError(Cli.run("train", "--bootstrap", NOWHERE, "--run", "r", "--experiment", "e",
                        "--checkpoint-dir", dir.resolve("chk").toString(), "--restore", dir.toString()),
                "train", "is not a checkpoint or savepoint directory (no _metadata");
        Path experiment = Files.writeString(dir.resolve("exp.yaml"), "d_in: 64\nsaes:\n  - {id: a, d_sae: 128}\n");
        assertOneLineUserError(Cli.run("replay", "--bootstrap", NOWHERE, "--topic", "activations.r", "--experiment",
                        "e", "--config", experiment.toString(), "--state-dir", dir.resolve("state").toString(),
                        "--epochs", "2"), "replay", "--epochs 2 needs --until");
        assertOneLineUserError(Cli.run("export", "--snapshot", missing.toString(), "--out",
                dir.resolve("out").toString()), "export", "no such file or directory: " + missing);
        try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            String port = String.valueOf(busy.getLocalPort());
            assertOneLineUserError(Cli.run("train", "--bootstrap", NOWHERE, "--run", "r", "--experiment", "e",
                    "--checkpoint-dir", dir.resolve("chk").toString(), "--rest-port", port),
                    "train", "--rest-port " + port + " on 127.0.0.1 is not free");
            assertOneLineUserError(Cli.run("sink", "--bootstrap", NOWHERE, "--workdir", dir.resolve("sink").toString(),
                    "--port", port), "sink", "--port " + port + " on 127.0.0.1 is not free");
        }
        assertFalse(Files.exists(dir.resolve("chk")), "nothing was created");
    }

    @Test
    void aHookTheModelDoesNotHaveFailsBeforeTheTopicExists(@TempDir Path dir) throws Exception {
        Path corpus = Files.writeString(dir.resolve("doc.txt"), "In the beginning was the word.");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            Cli.Outcome o = Cli.run("produce", "--bootstrap", kafka.bootstrapServers(),
                    "--model", ShippedModelTest.shippedModel().toString(), "--corpus", corpus.toString(),
                    "--hooks", "blocks.0.hook_resid_post,blocks.9.hook_resid_post", "--run", "wrong-hook");
            assertOneLineUserError(o, "produce", "hook blocks.9.hook_resid_post does not exist: the model has 4 blocks");
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                    kafka.bootstrapServers()))) {
                assertFalse(admin.listTopics().names().get().contains("activations.wrong-hook"),
                        "no topic for a run that could not start");
            }
            // a tapped hook is checked against the model the training config describes, before Kafka or a step
            Path model = ShippedModelTest.shippedModel();
            Cli.Outcome tap = Cli.run("train-lm", "--config", model.resolveSibling("pd-en-tiny.yaml").toString(),
                    "--corpus", corpus.toString(), "--run", "wrong-tap", "--out", dir.resolve("lm").toString(),
                    "--bootstrap", kafka.bootstrapServers(), "--tap-hooks", "blocks.7.mlp.hook_post");
            assertOneLineUserError(tap, "train-lm", "hook blocks.7.mlp.hook_post does not exist: the model has 4 blocks");
            assertFalse(Files.exists(dir.resolve("lm")), "nothing trained");
        }
    }

    private static void assertOneLineUserError(Cli.Outcome o, String command, String expected) {
        assertEquals(2, o.rc(), command + ": a user error, exit 2:\n" + o.stderr());
        String err = o.stderr().strip();
        assertTrue(err.startsWith("saestream " + command + ": "), err);
        assertTrue(err.contains(expected), "expected '" + expected + "' in:\n" + err);
        assertEquals(1, err.lines().count(), "one line, no stack trace:\n" + err);
    }
}
