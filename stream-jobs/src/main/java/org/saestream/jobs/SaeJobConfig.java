package org.saestream.jobs;

import org.saestream.records.Topics;
import org.saestream.sae.SaeConfig;

import java.io.Serializable;

/**
 * What one training experiment does with its stream.
 *
 * @param experiment          names the experiment: its SAE keys, Kafka group, transactional ids and checkpoints
 * @param sourceTopic         the activation topic, e.g. activations.demo
 * @param hookName            train on blocks of this hook only; null accepts every hook in the topic
 * @param sae                 the SAE to train
 * @param mixingBufferTokens  tokens shuffled together before batching (at least two batches)
 * @param snapshotEveryTokens publish a snapshot each time tokens_seen crosses a multiple of this (and at the end)
 * @param snapshotChunkBytes  largest SaeSnapshot chunk, below Kafka's default 1 MiB record limit
 */
public record SaeJobConfig(String experiment, String sourceTopic, String hookName, SaeConfig sae,
                           int mixingBufferTokens, long snapshotEveryTokens, int snapshotChunkBytes)
        implements Serializable {
    public static final int DEFAULT_CHUNK_BYTES = 768 * 1024;

    public SaeJobConfig {
        Topics.requireName(experiment, "experiment");
        if (sourceTopic == null || sourceTopic.isBlank()) {
            throw new IllegalArgumentException("sourceTopic is required");
        }
        if (mixingBufferTokens < 2 * sae.batchSize()) {
            throw new IllegalArgumentException("mixingBufferTokens " + mixingBufferTokens
                    + " must be at least two batches (2 x " + sae.batchSize() + ")");
        }
        if (snapshotEveryTokens <= 0) {
            throw new IllegalArgumentException("snapshotEveryTokens must be positive, got " + snapshotEveryTokens);
        }
        if (snapshotChunkBytes < 1024) {
            throw new IllegalArgumentException("snapshotChunkBytes must be at least 1024, got " + snapshotChunkBytes);
        }
    }

    public String saeKey() {
        return Topics.saeKey(experiment, sae.saeId());
    }

    public String deadLetterTopic() {
        return Topics.deadLetters(sourceTopic);
    }
}
