package org.saestream.jobs;

import org.saestream.records.Topics;
import org.saestream.sae.ActivationSource;
import org.saestream.sae.SaeConfig;
import org.saestream.topics.TopicCatalog;
import org.saestream.topics.TopicSpec;

import java.io.Serializable;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What one training experiment does with its stream: an ensemble of SAEs, every one of which sees
 * every accepted token of its hook exactly once.
 *
 * @param experiment          names the experiment: its SAE keys, Kafka group, transactional ids and checkpoints
 * @param sourceTopic         the activation topic, e.g. activations.demo
 * @param hookName            default hook of SAEs that name none; null accepts every hook in the topic
 * @param saes                the ensemble (unique ids); snapshots are taken at each SAE's drift-window boundaries
 * @param mixingBufferTokens  tokens shuffled together before batching (at least two of every batch size)
 * @param parallelism         SAE groups are spread over this many subtasks
 * @param referenceDictionary optional dictionary every SAE is compared with at each window (SAELens directory
 *                            or a safetensors file with a [n, d_in] tensor; see {@link ReferenceDictionary}); null for none
 * @param comparisonThreshold a feature counts as matched when its max cosine similarity exceeds this (0.9)
 * @param matchingMaxFeatures one-to-one matchings are computed for dictionaries up to this size
 * @param snapshotChunkBytes  largest SaeSnapshot chunk (and FeatureExamples record), below Kafka's default
 *                            1 MiB record limit
 * @param featureExamples     top-k examples per feature and window on sae-features ({@link FeatureExampleOptions})
 * @param activationSource    where the topic's activations came from (context size, BOS, corpus), written into every
 *                            snapshot's metadata as SAELens names it; {@link ActivationSource#UNKNOWN} when not known
 */
public record SaeJobConfig(String experiment, String sourceTopic, String hookName, List<SaeConfig> saes,
                           int mixingBufferTokens, int parallelism, String referenceDictionary,
                           double comparisonThreshold, int matchingMaxFeatures, int snapshotChunkBytes,
                           FeatureExampleOptions featureExamples, ActivationSource activationSource)
        implements Serializable {
    public static final int DEFAULT_CHUNK_BYTES = 768 * 1024;
    public static final double DEFAULT_COMPARISON_THRESHOLD = 0.9;
    public static final int DEFAULT_MATCHING_MAX_FEATURES = 4096;
    /** Fixed, so that group keys chosen to spread over subtasks stay where they were put after a restore. */
    public static final int MAX_PARALLELISM = 128;

    public SaeJobConfig {
        Topics.requireName(experiment, "experiment");
        if (sourceTopic == null || sourceTopic.isBlank()) {
            throw new IllegalArgumentException("sourceTopic is required");
        }
        if (saes == null || saes.isEmpty()) {
            throw new IllegalArgumentException("an experiment needs at least one SAE");
        }
        saes = List.copyOf(saes);
        Set<String> ids = new HashSet<>();
        for (SaeConfig sae : saes) {
            Topics.requireName(sae.saeId(), "SAE id");
            if (!ids.add(sae.saeId())) {
                throw new IllegalArgumentException("SAE id " + sae.saeId() + " appears twice in experiment " + experiment);
            }
            if (mixingBufferTokens < 2 * sae.batchSize()) {
                throw new IllegalArgumentException("mixingBufferTokens " + mixingBufferTokens
                        + " must be at least two batches of SAE " + sae.saeId() + " (2 x " + sae.batchSize() + ")");
            }
        }
        if (parallelism < 1 || parallelism > MAX_PARALLELISM) {
            throw new IllegalArgumentException("parallelism must be in [1, " + MAX_PARALLELISM + "], got " + parallelism);
        }
        if (!(comparisonThreshold > -1 && comparisonThreshold < 1)) {
            throw new IllegalArgumentException("comparisonThreshold must be in (-1, 1), got " + comparisonThreshold);
        }
        if (matchingMaxFeatures < 0) {
            throw new IllegalArgumentException("matchingMaxFeatures must be >= 0, got " + matchingMaxFeatures);
        }
        if (snapshotChunkBytes < 1024) {
            throw new IllegalArgumentException("snapshotChunkBytes must be at least 1024, got " + snapshotChunkBytes);
        }
        if (featureExamples == null) {
            throw new IllegalArgumentException("featureExamples is required (FeatureExampleOptions.off() for none)");
        }
        activationSource = activationSource == null ? ActivationSource.UNKNOWN : activationSource;
    }

    /** Where the activations came from not known ({@link #withActivationSource} sets it). */
    public SaeJobConfig(String experiment, String sourceTopic, String hookName, List<SaeConfig> saes,
                        int mixingBufferTokens, int parallelism, String referenceDictionary,
                        double comparisonThreshold, int matchingMaxFeatures, int snapshotChunkBytes,
                        FeatureExampleOptions featureExamples) {
        this(experiment, sourceTopic, hookName, saes, mixingBufferTokens, parallelism, referenceDictionary,
                comparisonThreshold, matchingMaxFeatures, snapshotChunkBytes, featureExamples, null);
    }

    /** With the default feature examples. */
    public SaeJobConfig(String experiment, String sourceTopic, String hookName, List<SaeConfig> saes,
                        int mixingBufferTokens, int parallelism, String referenceDictionary,
                        double comparisonThreshold, int matchingMaxFeatures, int snapshotChunkBytes) {
        this(experiment, sourceTopic, hookName, saes, mixingBufferTokens, parallelism, referenceDictionary,
                comparisonThreshold, matchingMaxFeatures, snapshotChunkBytes, FeatureExampleOptions.defaults());
    }

    /** One SAE with the defaults for everything else. */
    public static SaeJobConfig single(String experiment, String sourceTopic, String hookName, SaeConfig sae,
                                      int mixingBufferTokens) {
        return new SaeJobConfig(experiment, sourceTopic, hookName, List.of(sae), mixingBufferTokens, 1, null,
                DEFAULT_COMPARISON_THRESHOLD, DEFAULT_MATCHING_MAX_FEATURES, DEFAULT_CHUNK_BYTES,
                FeatureExampleOptions.defaults());
    }

    public SaeJobConfig withExperiment(String name) {
        return new SaeJobConfig(name, sourceTopic, hookName, saes, mixingBufferTokens, parallelism, referenceDictionary,
                comparisonThreshold, matchingMaxFeatures, snapshotChunkBytes, featureExamples, activationSource);
    }

    public SaeJobConfig withSourceTopic(String topic) {
        return new SaeJobConfig(experiment, topic, hookName, saes, mixingBufferTokens, parallelism, referenceDictionary,
                comparisonThreshold, matchingMaxFeatures, snapshotChunkBytes, featureExamples, activationSource);
    }

    /** The default hook (of SAEs that name none); null accepts every hook in the topic. */
    public SaeJobConfig withHook(String hook) {
        return new SaeJobConfig(experiment, sourceTopic, hook, saes, mixingBufferTokens, parallelism, referenceDictionary,
                comparisonThreshold, matchingMaxFeatures, snapshotChunkBytes, featureExamples, activationSource);
    }

    public SaeJobConfig withSaes(List<SaeConfig> ensemble) {
        return new SaeJobConfig(experiment, sourceTopic, hookName, ensemble, mixingBufferTokens, parallelism,
                referenceDictionary, comparisonThreshold, matchingMaxFeatures, snapshotChunkBytes, featureExamples,
                activationSource);
    }

    public SaeJobConfig withReferenceDictionary(String path) {
        return new SaeJobConfig(experiment, sourceTopic, hookName, saes, mixingBufferTokens, parallelism, path,
                comparisonThreshold, matchingMaxFeatures, snapshotChunkBytes, featureExamples, activationSource);
    }

    public SaeJobConfig withSnapshotChunkBytes(int bytes) {
        return new SaeJobConfig(experiment, sourceTopic, hookName, saes, mixingBufferTokens, parallelism,
                referenceDictionary, comparisonThreshold, matchingMaxFeatures, bytes, featureExamples, activationSource);
    }

    public SaeJobConfig withFeatureExamples(FeatureExampleOptions options) {
        return new SaeJobConfig(experiment, sourceTopic, hookName, saes, mixingBufferTokens, parallelism,
                referenceDictionary, comparisonThreshold, matchingMaxFeatures, snapshotChunkBytes, options,
                activationSource);
    }

    /** Where the topic's activations came from, for the snapshots' metadata. */
    public SaeJobConfig withActivationSource(ActivationSource source) {
        return new SaeJobConfig(experiment, sourceTopic, hookName, saes, mixingBufferTokens, parallelism,
                referenceDictionary, comparisonThreshold, matchingMaxFeatures, snapshotChunkBytes, featureExamples,
                source);
    }

    /** The groups the ensemble trains in (deterministic: a restored job finds its groups under the same keys). */
    public List<SaeGroup> groups() {
        return SaeGroups.plan(saes, hookName, parallelism, MAX_PARALLELISM);
    }

    public String saeKey(String saeId) {
        return Topics.saeKey(experiment, saeId);
    }

    public String deadLetterTopic() {
        return Topics.deadLetters(sourceTopic);
    }

    /** Every topic the job writes to (it creates them at start, so a cluster without auto-creation works). */
    public List<TopicSpec<?>> outputTopics() {
        List<TopicSpec<?>> topics = new java.util.ArrayList<>(TopicCatalog.TRAINING_OUTPUTS);
        topics.add(TopicCatalog.deadLetters(sourceTopic));
        return topics;
    }
}
