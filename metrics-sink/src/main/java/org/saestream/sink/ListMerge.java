package org.saestream.sink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Merges two instances' answers to a list endpoint (each from its own partitions) into one, in the order a
 * single instance would give. A key on both (only while a partition is handed over) appears once.
 */
final class ListMerge {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ListMerge() {
    }

    /** /api/saes: one entry per id, in id order; the higher step when both have one. */
    static JsonNode saes(JsonNode a, JsonNode b) {
        Map<String, JsonNode> byId = new TreeMap<>();
        for (JsonNode list : List.of(a, b)) {
            list.forEach(m -> byId.merge(m.path("id").asText(), m,
                    (x, y) -> x.path("step").asLong() >= y.path("step").asLong() ? x : y));
        }
        return JSON.createArrayNode().addAll(byId.values());
    }

    /** /api/experiments: every experiment once, with the union of its SAE ids. */
    static JsonNode experiments(JsonNode a, JsonNode b) {
        Map<String, TreeSet<String>> saes = new TreeMap<>();
        for (JsonNode list : List.of(a, b)) {
            list.forEach(e -> {
                TreeSet<String> ids = saes.computeIfAbsent(e.path("experiment").asText(), x -> new TreeSet<>());
                e.path("saes").forEach(id -> ids.add(id.asText()));
            });
        }
        return experimentsJson(saes);
    }

    /** Objects by key (/api/producers, /api/spectrum): the union in key order; a's value when both have one. */
    static JsonNode objects(JsonNode a, JsonNode b) {
        Map<String, JsonNode> byKey = new TreeMap<>();
        b.properties().forEach(e -> byKey.put(e.getKey(), e.getValue()));
        a.properties().forEach(e -> byKey.put(e.getKey(), e.getValue()));
        ObjectNode out = JSON.createObjectNode();
        byKey.forEach(out::set);
        return out;
    }

    /** The /api/experiments shape: [{"experiment": name, "saes": [ids]}] in name order. */
    static ArrayNode experimentsJson(Map<String, TreeSet<String>> saes) {
        ArrayNode out = JSON.createArrayNode();
        saes.forEach((experiment, ids) -> {
            ObjectNode o = out.addObject().put("experiment", experiment);
            ids.forEach(o.putArray("saes")::add);
        });
        return out;
    }
}
