package org.saestream.e2e;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.cli.Main;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.records.ActivationBlock;
import org.saestream.records.ProducerMetrics;
import org.saestream.records.RecordCodec;
import org.saestream.records.ShardLedgerEntry;
import org.saestream.records.ShardStatus;
import org.saestream.records.Topics;
import org.saestream.testing.HfFixtureRoot;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad corpus input is counted, reported and skipped; a broken shard fails alone; a rerun ingests nothing twice. */
class ProducerBadInputTest {
    private static final String RUN = "bad";

    @Test
    void badInputIsCountedAndABrokenShardFailsWithoutStoppingTheOthers(@TempDir Path dir) throws Exception {
        Path hf = HfFixtureRoot.find().orElse(null);
        Assumptions.assumeTrue(hf != null, HfFixtureRoot.missingMessage());
        Path corpus = dir.resolve("corpus");
        Files.createDirectories(corpus);
        String good = "The quick brown fox jumps over the lazy dog, again and again, until the dog wakes up.";
        Files.write(corpus.resolve("a.jsonl"), String.join("\n",
                "{\"text\": \"" + good + "\"}",
                "{\"text\": \"\"}",                                  // empty: skipped and counted
                "{\"text\": \"unterminated",                         // malformed JSON: skipped and counted
                "{\"text\": \"" + good + " Second document.\"}").getBytes(StandardCharsets.UTF_8));
        byte[] invalidUtf8 = ("Caf" + "\u00e9 au lait, " + good).getBytes(StandardCharsets.ISO_8859_1);
        Files.write(corpus.resolve("b.txt"), invalidUtf8);                  // invalid UTF-8: replaced and counted
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            for (int i = 0; i < 200; i++) {
                out.write(("{\"text\": \"document " + i + ": " + good + "\"}\n").getBytes(StandardCharsets.UTF_8));
            }
        }
        byte[] whole = gz.toByteArray();
        Files.write(corpus.resolve("c.jsonl.gz"), Arrays.copyOf(whole, whole.length * 2 / 3)); // truncated gzip
        ParquetShards.write(corpus.resolve("d.parquet"), good, null, good + " Third row.");             // a null cell: empty
        Files.writeString(corpus.resolve("e.parquet"), "{\"text\": \"JSON under a Parquet name\"}\n");   // not Parquet

        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            String[] produce = {"produce", "--bootstrap", bootstrap, "--model", hf.resolve("gpt2").toString(),
                    "--tokenizer", hf.resolve("tokenizer").resolve("tokenizer.json").toString(),
                    "--corpus", corpus.toString(), "--hooks", "blocks.0.hook_resid_post", "--run", RUN,
                    "--context", "16", "--chunk-windows", "4"};
            assertEquals(0, Main.run(produce));

            Map<String, ShardLedgerEntry> ledger = ledger(bootstrap);
            assertEquals(ShardStatus.DONE, ledger.get("a.jsonl").getStatus());
            assertEquals(ShardStatus.DONE, ledger.get("b.txt").getStatus());
            ShardLedgerEntry broken = ledger.get("c.jsonl.gz");
            assertEquals(ShardStatus.FAILED, broken.getStatus());
            assertTrue(broken.getReason().toString().contains("c.jsonl.gz"), "the reason names the file: " + broken);
            assertTrue(broken.getDocumentsDone() > 0, "documents before the corruption were kept: " + broken);

            assertEquals(ShardStatus.DONE, ledger.get("d.parquet").getStatus());
            assertEquals(2, ledger.get("d.parquet").getDocumentsDone(), "the null row is skipped, not a document");
            ShardLedgerEntry notParquet = ledger.get("e.parquet");
            assertEquals(ShardStatus.FAILED, notParquet.getStatus());
            assertTrue(notParquet.getReason().toString().contains("not a readable Parquet file"), notParquet.toString());

            ProducerMetrics m = lastMetrics(bootstrap);
            assertEquals(2, m.getEmptyDocumentsSkipped(), "the empty JSON line and the null Parquet cell");
            assertEquals(1, m.getMalformedJsonSkipped());
            assertEquals(1, m.getInvalidUtf8Documents());
            assertEquals(3, m.getShardsDone());
            assertEquals(2, m.getShardsFailed());
            Set<String> published = published(bootstrap);
            assertTrue(published.contains("a.jsonl/0#0") && published.contains("a.jsonl/3#0"),
                    "documents around the bad lines keep their indices: " + published);
            assertTrue(published.contains("b.txt/0#0"));
            assertTrue(published.contains("d.parquet/0#0") && published.contains("d.parquet/2#0")
                    && !published.contains("d.parquet/1#0"), "rows keep their positions: " + published);

            // the same command again: done and failed shards are not ingested again
            int before = published.size();
            assertEquals(0, Main.run(produce));
            assertEquals(before, published(bootstrap).size(), "nothing published twice");

            // a shard that changes after ingestion is reported, not ingested again
            Files.writeString(corpus.resolve("b.txt"), "An entirely different text now.");
            assertEquals(0, Main.run(produce));
            assertEquals(ShardStatus.CHANGED, ledger(bootstrap).get("b.txt").getStatus());
            assertEquals(before, published(bootstrap).size(), "the changed shard was not ingested again");
            assertEquals(1, lastMetrics(bootstrap).getShardsChanged());
        }
    }

    private static Set<String> published(String bootstrap) {
        Set<String> ids = new TreeSet<>();
        for (ConsumerRecord<byte[], byte[]> r : ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.activations(RUN))) {
            ActivationBlock b = RecordCodec.ACTIVATION_BLOCK.decode(r.value());
            assertTrue(ids.add(b.getShardId() + "/" + b.getDocumentId() + "#" + b.getSequenceIndex()), "once");
        }
        return ids;
    }

    private static Map<String, ShardLedgerEntry> ledger(String bootstrap) {
        Map<String, ShardLedgerEntry> latest = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.SHARD_LEDGER)) {
            ShardLedgerEntry e = RecordCodec.SHARD_LEDGER_ENTRY.decode(r.value());
            latest.put(e.getShardId().toString(), e);
        }
        return latest;
    }

    private static ProducerMetrics lastMetrics(String bootstrap) {
        var all = ExactlyOnceAfterKillTest.readAll(bootstrap, Topics.PRODUCER_METRICS);
        return RecordCodec.PRODUCER_METRICS.decode(all.get(all.size() - 1).value());
    }
}
