package org.saestream.topics;

import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.util.Properties;

/**
 * What every saestream producer of catalog topics starts from: acks from all replicas, idempotence, byte-array keys
 * and values, and requests (and buffer memory) large enough for the catalog's biggest record, so that a block of any
 * width the topic allows is also one the producer sends. Each producer adds its own (transactional id, linger).
 */
public final class ProducerSettings {
    private ProducerSettings() {
    }

    public static Properties reliable(String bootstrapServers) {
        return reliable(KafkaClientConfig.plain(bootstrapServers));
    }

    /** The same, with the client's settings (security) applied. */
    public static Properties reliable(KafkaClientConfig client) {
        Properties p = client.clientProperties();
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, TopicCatalog.MAX_REQUEST_BYTES);
        p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, 4L * TopicCatalog.MAX_REQUEST_BYTES);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        return p;
    }
}
