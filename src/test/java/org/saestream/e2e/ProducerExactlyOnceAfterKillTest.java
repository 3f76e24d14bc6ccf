package org.saestream.e2e;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.corpus.ContextWindows;
import org.saestream.corpus.Corpus;
import org.saestream.corpus.CorpusOptions;
import org.saestream.corpus.CorpusShard;
import org.saestream.corpus.Document;
import org.saestream.corpus.ShardReader;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.lm.HfTokenizer;
import org.saestream.records.ActivationBlock;
import org.saestream.records.ProducerMetrics;
import org.saestream.records.RecordCodec;
import org.saestream.records.ShardLedgerEntry;
import org.saestream.records.ShardStatus;
import org.saestream.records.Topics;
import org.saestream.testing.HfFixtureRoot;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `saestream produce` killed with SIGKILL in the middle of a shard and started again with the same
 * command: a read_committed consumer sees every (document, window) of the corpus exactly once.
 */
class ProducerExactlyOnceAfterKillTest {
    private static final String RUN = "pk";
    private static final String HOOK = "blocks.0.hook_resid_post";
    private static final int CONTEXT = 64;

    @Test
    void killedProducerResumesAndEveryWindowIsPublishedExactlyOnce(@TempDir Path dir) throws Exception {
        Path hf = HfFixtureRoot.find().orElse(null);
        Assumptions.assumeTrue(hf != null, HfFixtureRoot.missingMessage());
        Path corpus = dir.resolve("corpus");
        Files.createDirectories(corpus);
        Path shipped = shippedCorpus();
        Files.copy(shipped.resolve("devils-dictionary.jsonl.gz"), corpus.resolve("a-devils-dictionary.jsonl.gz"));
        Files.copy(shipped.resolve("devils-dictionary-preface.txt"), corpus.resolve("b-preface.txt"));
        Path tokenizer = hf.resolve("tokenizer").resolve("tokenizer.json");

        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            String[] produce = {"produce", "--bootstrap", bootstrap, "--model", hf.resolve("gpt2").toString(),
                    "--tokenizer", tokenizer.toString(), "--corpus", corpus.toString(), "--hooks", HOOK,
                    "--run", RUN, "--context", String.valueOf(CONTEXT), "--batch", "8", "--chunk-windows", "24"};
            Path log = dir.resolve("produce.log");
            Process first = ChildJvm.start(log, produce);
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
                while (true) {
                    Optional<ShardLedgerEntry> entry = ledger(bootstrap, RUN, "a-devils-dictionary.jsonl.gz");
                    if (entry.isPresent() && entry.get().getStatus() == ShardStatus.IN_PROGRESS
                            && entry.get().getWindowsDone() >= 200) {
                        break;
                    }
                    assertTrue(first.isAlive(), "producer still running:\n" + Files.readString(log));
                    assertTrue(System.nanoTime() < deadline, "no committed progress:\n" + Files.readString(log));
                    Thread.sleep(20);
                }
                first.destroyForcibly(); // SIGKILL, mid-shard, most likely inside an open transaction
                assertTrue(first.waitFor(30, TimeUnit.SECONDS));
            } finally {
                first.destroyForcibly();
            }
            ShardLedgerEntry atKill = ledger(bootstrap, RUN, "a-devils-dictionary.jsonl.gz").orElseThrow();
            System.out.printf("killed the producer at document %d window %d (%d windows committed)%n",
                    atKill.getNextDocument(), atKill.getNextSequence(), atKill.getWindowsDone());

            Files.writeString(log, "\n=== killed; the same command again ===\n", java.nio.file.StandardOpenOption.APPEND);
            Process second = ChildJvm.start(log, produce);
            try {
                assertTrue(second.waitFor(240, TimeUnit.SECONDS), "restarted producer finished:\n" + Files.readString(log));
                assertEquals(0, second.exitValue(), Files.readString(log));
            } finally {
                second.destroyForcibly();
            }

            Map<String, Integer> expected = expectedWindows(corpus, tokenizer);
            Map<String, Integer> seen = new TreeMap<>();
            long tokens = 0;
            for (ConsumerRecord<byte[], byte[]> r : ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.activations(RUN))) {
                ActivationBlock b = RecordCodec.ACTIVATION_BLOCK.decode(r.value());
                assertEquals(HOOK, b.getHookName().toString());
                String id = b.getShardId() + "/" + b.getDocumentId() + "#" + b.getSequenceIndex();
                seen.merge(id, b.getTokenCount(), (x, y) -> {
                    throw new AssertionError("window " + id + " published twice");
                });
                tokens += b.getTokenCount();
            }
            assertEquals(expected.keySet(), seen.keySet(), "every (document, window) of the corpus, none missing");
            assertEquals(expected, seen, "with the tokens of its window");
            assertTrue(seen.size() > atKill.getWindowsDone(), "the restart published the rest");

            ProducerMetrics metrics = RecordCodec.PRODUCER_METRICS.decode(
                    ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.PRODUCER_METRICS).stream()
                            .reduce((a, b) -> b).orElseThrow().value());
            assertEquals(seen.size(), metrics.getWindows(), "committed metrics count each window once");
            assertEquals(tokens, metrics.getTokens());
            assertEquals(2, metrics.getShardsDone());
            for (String shard : List.of("a-devils-dictionary.jsonl.gz", "b-preface.txt")) {
                assertEquals(ShardStatus.DONE, ledger(bootstrap, RUN, shard).orElseThrow().getStatus(), shard);
            }
        }
    }

    /** shard/doc#window → document tokens, computed here from the corpus as the producer should cut it. */
    static Map<String, Integer> expectedWindows(Path corpus, Path tokenizerFile) throws Exception {
        Map<String, Integer> expected = new TreeMap<>();
        try (HfTokenizer tokenizer = HfTokenizer.load(tokenizerFile)) {
            for (CorpusShard shard : Corpus.list(corpus)) {
                try (ShardReader reader = ShardReader.open(shard, CorpusOptions.defaults())) {
                    for (Optional<Document> d = reader.next(); d.isPresent(); d = reader.next()) {
                        long[] ids = tokenizer.encode(d.get().text(), false);
                        int[] tokens = new int[ids.length];
                        for (int i = 0; i < ids.length; i++) {
                            tokens[i] = (int) ids[i];
                        }
                        for (ContextWindows.Window w : ContextWindows.cut(tokens, CONTEXT, false, 0).windows()) {
                            expected.put(shard.shardId() + "/" + d.get().index() + "#" + w.sequenceIndex(),
                                    w.documentTokens());
                        }
                    }
                }
            }
        }
        return expected;
    }

    /** The repository's corpus/pd-en, found from the test's working directory up. */
    static Path shippedCorpus() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("corpus").resolve("pd-en"))) {
                return p.resolve("corpus").resolve("pd-en");
            }
        }
        throw new IllegalStateException("corpus/pd-en not found above " + Path.of("").toAbsolutePath());
    }

    static Optional<ShardLedgerEntry> ledger(String bootstrap, String run, String shardId) {
        Map<String, ShardLedgerEntry> latest = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.SHARD_LEDGER)) {
            latest.put(new String(r.key()), RecordCodec.SHARD_LEDGER_ENTRY.decode(r.value()));
        }
        return Optional.ofNullable(latest.get(Topics.ledgerKey(run, shardId)));
    }
}
