package org.saestream.e2e;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.corpus.CorpusOptions;
import org.saestream.corpus.CorpusShard;
import org.saestream.corpus.Document;
import org.saestream.corpus.ShardReader;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.records.ActivationBlock;
import org.saestream.records.RecordCodec;
import org.saestream.records.ShardLedgerEntry;
import org.saestream.records.ShardStatus;
import org.saestream.records.Topics;
import org.saestream.testing.HfFixtureRoot;

import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two `saestream produce --group` processes share a corpus through corpus-shards.&lt;run&gt;; one is killed
 * with SIGKILL mid-shard; the other takes its shards over from their ledger positions, and a
 * read_committed consumer sees every (document, window) of the whole corpus exactly once.
 */
class TwoProducersTest {
    private static final String RUN = "two";
    private static final String HOOK = "blocks.0.hook_resid_post";
    private static final int SHARDS = 6;

    @Test
    void aSurvivingProducerTakesOverTheDeadOnesShards(@TempDir Path dir) throws Exception {
        Path hf = HfFixtureRoot.find().orElse(null);
        Assumptions.assumeTrue(hf != null, HfFixtureRoot.missingMessage());
        Path corpus = splitShippedDictionary(dir.resolve("corpus"), SHARDS);
        Path tokenizer = hf.resolve("tokenizer").resolve("tokenizer.json");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            Process[] producers = new Process[2];
            Path[] logs = new Path[2];
            try {
                for (int i = 0; i < 2; i++) {
                    logs[i] = dir.resolve("producer-" + i + ".log");
                    producers[i] = ChildJvm.start(logs[i], "produce", "--bootstrap", bootstrap,
                            "--model", hf.resolve("gpt2").toString(), "--tokenizer", tokenizer.toString(),
                            "--corpus", corpus.toString(), "--hooks", HOOK, "--run", RUN, "--context", "64",
                            "--batch", "8", "--chunk-windows", "8", "--group", "--producer-id", "p" + i,
                            "--session-timeout", "6s", "--transaction-timeout", "10s");
                }
                // kill p0 once it is inside a shard with committed progress
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
                String victimShard = null;
                while (victimShard == null) {
                    for (ShardLedgerEntry e : ledger(bootstrap).values()) {
                        if (e.getProducerId().toString().equals("p0") && e.getStatus() == ShardStatus.IN_PROGRESS
                                && e.getWindowsDone() >= 16) {
                            victimShard = e.getShardId().toString();
                        }
                    }
                    assertTrue(producers[0].isAlive(), "p0 running:\n" + Files.readString(logs[0]));
                    assertTrue(System.nanoTime() < deadline, "p0 made no committed progress:\n" + Files.readString(logs[0]));
                    Thread.sleep(20);
                }
                producers[0].destroyForcibly();
                assertTrue(producers[0].waitFor(30, TimeUnit.SECONDS));
                System.out.println("killed p0 inside shard " + victimShard);

                assertTrue(producers[1].waitFor(300, TimeUnit.SECONDS), "p1 finished:\n" + Files.readString(logs[1]));
                assertEquals(0, producers[1].exitValue(), Files.readString(logs[1]));

                Map<String, ShardLedgerEntry> ledger = ledger(bootstrap);
                assertEquals(SHARDS, ledger.size());
                for (ShardLedgerEntry e : ledger.values()) {
                    assertEquals(ShardStatus.DONE, e.getStatus(), e.toString());
                }
                assertEquals("p1", ledger.get(victimShard).getProducerId().toString(),
                        "the survivor finished the dead producer's shard");
            } finally {
                for (Process p : producers) {
                    if (p != null) {
                        p.destroyForcibly();
                    }
                }
            }

            Map<String, Integer> expected = ProducerExactlyOnceAfterKillTest.expectedWindows(corpus, tokenizer);
            Map<String, Integer> seen = new TreeMap<>();
            for (ConsumerRecord<byte[], byte[]> r : ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.activations(RUN))) {
                ActivationBlock b = RecordCodec.ACTIVATION_BLOCK.decode(r.value());
                String id = b.getShardId() + "/" + b.getDocumentId() + "#" + b.getSequenceIndex();
                seen.merge(id, b.getTokenCount(), (x, y) -> {
                    throw new AssertionError("window " + id + " published twice");
                });
            }
            assertEquals(expected, seen, "every (document, window) of the corpus exactly once");
        }
    }

    /** The shipped Devil's Dictionary cut into {@code shards} jsonl shards. */
    static Path splitShippedDictionary(Path corpus, int shards) throws Exception {
        Files.createDirectories(corpus);
        Path source = ProducerExactlyOnceAfterKillTest.shippedCorpus().resolve("devils-dictionary.jsonl.gz");
        List<String> texts = new ArrayList<>();
        try (ShardReader reader = ShardReader.open(CorpusShard.of("dd", source), CorpusOptions.defaults())) {
            for (Optional<Document> d = reader.next(); d.isPresent(); d = reader.next()) {
                texts.add(d.get().text());
            }
        }
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        int per = (texts.size() + shards - 1) / shards;
        for (int s = 0; s < shards; s++) {
            try (BufferedWriter w = Files.newBufferedWriter(corpus.resolve("part-" + s + ".jsonl"), StandardCharsets.UTF_8)) {
                for (String t : texts.subList(s * per, Math.min(texts.size(), (s + 1) * per))) {
                    w.write(json.writeValueAsString(Map.of("text", t)));
                    w.newLine();
                }
            }
        }
        return corpus;
    }

    static Map<String, ShardLedgerEntry> ledger(String bootstrap) {
        Map<String, ShardLedgerEntry> latest = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.SHARD_LEDGER)) {
            ShardLedgerEntry e = RecordCodec.SHARD_LEDGER_ENTRY.decode(r.value());
            latest.put(e.getShardId().toString(), e);
        }
        return latest;
    }
}
