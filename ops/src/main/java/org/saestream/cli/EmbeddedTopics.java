package org.saestream.cli;

import org.saestream.sink.SinkTopology;
import org.saestream.topics.KafkaAdmin;
import org.saestream.topics.TopicSpec;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** The topics a demo's stack uses on its embedded broker: the sink's, the jobs' outputs and the streams' sources. */
final class EmbeddedTopics {
    private EmbeddedTopics() {
    }

    static void create(String bootstrap, Collection<TopicSpec> jobOutputs, TopicSpec... sources) {
        List<TopicSpec> topics = new ArrayList<>(SinkTopology.topics());
        topics.addAll(jobOutputs);
        topics.addAll(List.of(sources));
        try (KafkaAdmin admin = KafkaAdmin.connect(bootstrap, KafkaAdmin.DEFAULT_TIMEOUT)) {
            admin.ensureTopics(topics.stream().distinct().toList(), 1);
        }
    }
}
