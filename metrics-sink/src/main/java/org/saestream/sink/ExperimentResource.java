package org.saestream.sink;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.avro.generic.GenericRecord;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.saestream.sink.ApiResponses.JSON;
import static org.saestream.sink.ApiResponses.error;
import static org.saestream.sink.ApiResponses.send;

/** {@code /api/experiments} (each with its SAEs) and {@code /api/experiments/{name}/comparisons} (ensemble MMCS). */
final class ExperimentResource implements ApiResource {
    private final SinkQueries queries;
    private final ApiRouting routing;

    ExperimentResource(SinkQueries queries, ApiRouting routing) {
        this.queries = queries;
        this.routing = routing;
    }

    @Override
    public void handle(ApiRequest req) throws IOException {
        Map<String, TreeSet<String>> saes = new TreeMap<>();
        queries.latest().forEach(m -> saes.computeIfAbsent(m.getExperiment(), e -> new TreeSet<>()).add(m.getSaeId()));
        queries.latest(RecordStream.COMPARISONS).keySet().forEach(e -> saes.computeIfAbsent(e, x -> new TreeSet<>()));
        if (req.parts().size() == 1) {
            send(req.exchange(), 200, routing.everywhere(req, "/api/experiments", ListMerge.experimentsJson(saes),
                    ListMerge::experiments));
        } else if (req.parts().size() == 3 && req.part(2).equals("comparisons")) {
            comparisons(req, req.part(1), saes);
        } else {
            ApiResponses.notFound(req.exchange(), req.path());
        }
    }

    private void comparisons(ApiRequest req, String experiment, Map<String, TreeSet<String>> saes) throws IOException {
        if (!routing.servesHere(req, RecordStream.COMPARISONS.historyStore(), experiment)) {
            return;
        }
        List<GenericRecord> history = queries.history(RecordStream.COMPARISONS, experiment);
        // an experiment without comparisons has an empty list, wherever its SAEs are
        if (history.isEmpty() && !saes.containsKey(experiment) && !knownElsewhere(req, experiment)) {
            send(req.exchange(), 404, error("unknown experiment '" + experiment + "'"));
            return;
        }
        send(req.exchange(), 200, ApiResponses.array(history));
    }

    /** Whether another instance holds SAEs of {@code experiment} (one without comparisons is still known). */
    private boolean knownElsewhere(ApiRequest req, String experiment) {
        if (req.scopeLocal()) {
            return false;
        }
        for (JsonNode e : routing.everywhere(req, "/api/experiments", JSON.createArrayNode(), ListMerge::experiments)) {
            if (e.path("experiment").asText().equals(experiment)) {
                return true;
            }
        }
        return false;
    }
}
