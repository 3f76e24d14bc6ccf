package org.saestream.produce.synthetic;

import org.saestream.records.Topics;
import org.saestream.tensor.DType;
import org.saestream.topics.KafkaClientConfig;

/**
 * @param run                  the run id; blocks go to activations.&lt;run&gt;
 * @param tokens               tokens to publish in all
 * @param blockTokens          tokens per ActivationBlock record
 * @param blocksPerTransaction records committed together in one Kafka transaction
 * @param dtype                wire dtype of the activations
 * @param partitions           partitions of the activation topic when it is created
 * @param producerId           names the producer; its transactional id derives from it
 * @param startToken           index of the first token to publish (a multiple of blockTokens); a second
 *                             producer continuing a run starts where the first one ended
 */
public record SyntheticProducerConfig(String run, KafkaClientConfig kafka, long tokens, int blockTokens,
                                      int blocksPerTransaction, DType dtype, int partitions, String producerId,
                                      long startToken) {
    public static final String HOOK_NAME = "synthetic.hook_features";
    public static final String MODEL_ID = "synthetic";

    public SyntheticProducerConfig {
        Topics.requireName(run, "run");
        if (tokens <= 0 || blockTokens <= 0 || blocksPerTransaction <= 0 || partitions <= 0) {
            throw new IllegalArgumentException("tokens, blockTokens, blocksPerTransaction and partitions must be positive");
        }
        if (startToken < 0 || startToken % blockTokens != 0) {
            throw new IllegalArgumentException("startToken " + startToken + " must be a non-negative multiple of blockTokens "
                    + blockTokens);
        }
        if (!dtype.isFloat16Or32()) {
            throw new IllegalArgumentException("dtype must be F32, F16 or BF16, got " + dtype);
        }
    }

    /** A cluster that needs no client settings beyond its address. */
    public SyntheticProducerConfig(String run, String bootstrapServers, long tokens, int blockTokens,
                                   int blocksPerTransaction, DType dtype, int partitions, String producerId,
                                   long startToken) {
        this(run, KafkaClientConfig.plain(bootstrapServers), tokens, blockTokens, blocksPerTransaction, dtype,
                partitions, producerId, startToken);
    }

    public String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    public String topic() {
        return Topics.activations(run);
    }

    public String shardId() {
        return "synthetic-" + run;
    }
}
