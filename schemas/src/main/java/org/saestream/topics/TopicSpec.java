package org.saestream.topics;

import java.util.Map;
import java.util.Objects;

/**
 * One topic as saestream creates it: its name, what its records hold, and its topic-level configs
 * (retention, compaction, the record-size limit).
 *
 * @param name     the topic's name, e.g. {@code activations.demo}
 * @param contents what its values are (a record type, or a word), for messages
 * @param configs  topic-level configs, with Kafka's own keys
 */
public record TopicSpec(String name, String contents, Map<String, String> configs) {
    public TopicSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(contents, "contents");
        configs = Map.copyOf(configs);
    }

    @Override
    public String toString() {
        return name;
    }
}
