package org.saestream.corpus;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The public-domain corpus in corpus/pd-en (see corpus/NOTICE) lists and reads cleanly. */
class ShippedCorpusTest {

    static Path shippedCorpus() {
        for (Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("corpus/pd-en");
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        return fail("corpus/pd-en not found above " + System.getProperty("user.dir"));
    }

    @Test
    void listsAndReadsEveryDocument() throws IOException {
        List<CorpusShard> shards = Corpus.list(shippedCorpus());
        assertEquals(List.of("devils-dictionary-preface.txt", "devils-dictionary.jsonl.gz",
                        "kjv-1-genesis-esther.jsonl.gz", "kjv-2-job-malachi.jsonl.gz", "kjv-3-matthew-revelation.jsonl.gz"),
                shards.stream().map(CorpusShard::shardId).toList());

        long[] expectedDocuments = {1, 999, 436, 493, 260};
        ReadCounts total = ReadCounts.ZERO;
        long chars = 0;
        for (int i = 0; i < shards.size(); i++) {
            try (ShardReader reader = ShardReader.open(shards.get(i), CorpusOptions.defaults())) {
                long[] c = {0};
                reader.forEach(d -> c[0] += d.text().length());
                chars += c[0];
                assertEquals(expectedDocuments[i], reader.counts().documents(), shards.get(i).shardId());
                assertEquals(reader.counts().documents(), reader.counts().positions(), "nothing skipped");
                assertTrue(reader.sha256().isPresent());
                total = total.plus(reader.counts());
            }
        }
        assertEquals(new ReadCounts(2189, 0, 0, 0, 0, 0), total);
        assertEquals(4_531_510, chars, "UTF-16 chars in all documents");
    }
}
