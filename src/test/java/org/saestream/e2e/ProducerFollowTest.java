package org.saestream.e2e;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.saestream.embedded.EmbeddedKafka;
import org.saestream.records.ShardLedgerEntry;
import org.saestream.records.ShardStatus;
import org.saestream.testing.HfFixtureRoot;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `saestream produce --follow` ingests a shard that appears after it started. */
class ProducerFollowTest {
    private static final String RUN = "follow";

    @Test
    void aShardWrittenLaterIsIngested(@TempDir Path dir) throws Exception {
        Path hf = HfFixtureRoot.find().orElse(null);
        Assumptions.assumeTrue(hf != null, HfFixtureRoot.missingMessage());
        Path corpus = dir.resolve("corpus");
        Files.createDirectories(corpus);
        Files.writeString(corpus.resolve("first.txt"), "The first document is here from the start of the run.");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            Path log = dir.resolve("follow.log");
            Process p = ChildJvm.start(log, "produce", "--bootstrap", bootstrap, "--model", hf.resolve("gpt2").toString(),
                    "--tokenizer", hf.resolve("tokenizer").resolve("tokenizer.json").toString(),
                    "--corpus", corpus.toString(), "--hooks", "blocks.0.hook_resid_post", "--run", RUN,
                    "--context", "16", "--follow", "--poll", "300ms");
            try {
                await(bootstrap, "first.txt", p, log);
                // written under a name the reader ignores, then renamed: the watcher never sees half a shard
                Files.writeString(corpus.resolve(".second.txt.tmp"), "A second document arrives while the producer runs.");
                Files.move(corpus.resolve(".second.txt.tmp"), corpus.resolve("second.txt"));
                ShardLedgerEntry second = await(bootstrap, "second.txt", p, log);
                assertTrue(second.getWindowsDone() > 0, second.toString());
                // a Parquet export arrives the same way
                ParquetShards.write(corpus.resolve(".third.parquet.tmp"), "A third document, from a Parquet row.",
                        null, "And a fourth, two rows further down.");
                Files.move(corpus.resolve(".third.parquet.tmp"), corpus.resolve("third.parquet"));
                ShardLedgerEntry third = await(bootstrap, "third.parquet", p, log);
                assertEquals(2, third.getDocumentsDone(), third.toString());
                assertTrue(p.isAlive(), "--follow keeps running");
            } finally {
                p.destroyForcibly();
            }
        }
    }

    private static ShardLedgerEntry await(String bootstrap, String shard, Process p, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            Optional<ShardLedgerEntry> e = ProducerExactlyOnceAfterKillTest.ledger(bootstrap, RUN, shard);
            if (e.isPresent() && e.get().getStatus() == ShardStatus.DONE) {
                return e.get();
            }
            assertTrue(p.isAlive(), "producer running:\n" + Files.readString(log));
            Thread.sleep(200);
        }
        throw new AssertionError(shard + " not ingested within 120 s:\n" + Files.readString(log));
    }
}
