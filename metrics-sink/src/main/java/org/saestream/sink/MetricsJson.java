package org.saestream.sink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;
import org.saestream.records.SaeMetrics;
import org.saestream.records.Topics;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Base64;
import java.util.Collection;
import java.util.Map;

/**
 * SaeMetrics as the API shows it: {@code "id": "<experiment>:<sae>"} and then every schema field under its
 * Avro (snake_case) name, so fields added to the schema appear without code changes. Timestamps are epoch
 * milliseconds; NaN and infinities (which JSON cannot hold) are null.
 */
final class MetricsJson {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private MetricsJson() {
    }

    static ObjectNode toJson(SaeMetrics m) {
        ObjectNode node = NODES.objectNode();
        node.put("id", Topics.saeKey(m.getExperiment().toString(), m.getSaeId().toString()));
        fields(m, node);
        return node;
    }

    /** Any record: every schema field under its Avro name. */
    static ObjectNode toJson(GenericRecord record) {
        ObjectNode node = NODES.objectNode();
        fields(record, node);
        return node;
    }

    private static void fields(GenericRecord record, ObjectNode into) {
        for (Schema.Field f : record.getSchema().getFields()) {
            into.set(f.name(), value(record.get(f.pos())));
        }
    }

    private static JsonNode value(Object v) {
        if (v == null) {
            return NODES.nullNode();
        } else if (v instanceof Instant t) {
            return NODES.numberNode(t.toEpochMilli());
        } else if (v instanceof Double d) {
            return Double.isFinite(d) ? NODES.numberNode(d) : NODES.nullNode();
        } else if (v instanceof Float f) {
            return Float.isFinite(f) ? NODES.numberNode(f) : NODES.nullNode();
        } else if (v instanceof Long l) {
            return NODES.numberNode(l);
        } else if (v instanceof Integer i) {
            return NODES.numberNode(i);
        } else if (v instanceof Boolean b) {
            return NODES.booleanNode(b);
        } else if (v instanceof ByteBuffer b) {
            byte[] bytes = new byte[b.remaining()];
            b.duplicate().get(bytes);
            return NODES.textNode(Base64.getEncoder().encodeToString(bytes));
        } else if (v instanceof GenericRecord r) {
            ObjectNode o = NODES.objectNode();
            fields(r, o);
            return o;
        } else if (v instanceof Collection<?> c) {
            ArrayNode a = NODES.arrayNode();
            c.forEach(e -> a.add(value(e)));
            return a;
        } else if (v instanceof Map<?, ?> map) {
            ObjectNode o = NODES.objectNode();
            map.forEach((k, e) -> o.set(String.valueOf(k), value(e)));
            return o;
        }
        return NODES.textNode(v.toString()); // strings (String or Utf8), enums
    }
}
