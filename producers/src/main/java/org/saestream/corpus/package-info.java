/**
 * Corpus shards and the documents in them, read as a stream; and the cutting of a document's tokens into
 * context windows.
 *
 * <ul>
 *   <li>{@link org.saestream.corpus.Corpus#list(java.nio.file.Path)} finds the shards under a directory (or
 *       takes one file), each a {@link org.saestream.corpus.CorpusShard}: a stable id (its path relative
 *       to the corpus root), its {@link org.saestream.corpus.ShardFormat} and the sha256 of its bytes as
 *       stored, so a shard that changes after it was ingested is noticed.</li>
 *   <li>{@link org.saestream.corpus.ShardReader} streams a shard's {@link org.saestream.corpus.Document}s
 *       in order. Bad input inside a shard (invalid UTF-8, empty documents, malformed JSON lines, oversized
 *       documents) is repaired or skipped and counted in {@link org.saestream.corpus.ReadCounts}; a shard
 *       that cannot be read on (unreadable file, truncated or corrupt gzip) fails with a
 *       {@link org.saestream.corpus.ShardReadException} at the point where it is hit, after every
 *       document before it was delivered.</li>
 *   <li>{@link org.saestream.corpus.ContextWindows} cuts one document's token ids into windows of the
 *       model's context length, optionally each starting with BOS.</li>
 * </ul>
 *
 * Nothing here tokenises, talks to Kafka or keeps state between shards: the producer owns those.
 */
package org.saestream.corpus;
