package org.saestream.sink;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.avro.generic.GenericRecord;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

import static org.saestream.sink.ApiResponses.JSON;
import static org.saestream.sink.ApiResponses.error;
import static org.saestream.sink.ApiResponses.send;

/**
 * A {@link RecordStream} over HTTP: {@code /api/<name>} (the latest record of every key) and
 * {@code /api/<name>/{key}[/<suffix>]} (one key's history), e.g. {@code /api/producers/{run:producer}/metrics} and
 * {@code /api/spectrum/{run}}.
 */
final class RecordStreamResource implements ApiResource {
    private final RecordStream stream;
    private final Optional<String> suffix;
    private final SinkQueries queries;
    private final ApiRouting routing;

    RecordStreamResource(RecordStream stream, Optional<String> suffix, SinkQueries queries, ApiRouting routing) {
        this.stream = stream;
        this.suffix = suffix;
        this.queries = queries;
        this.routing = routing;
    }

    @Override
    public void handle(ApiRequest req) throws IOException {
        List<String> parts = req.parts();
        if (parts.size() == 1) {
            ObjectNode out = JSON.createObjectNode();
            queries.latest(stream).forEach((key, r) -> out.set(key, MetricsJson.toJson(r)));
            send(req.exchange(), 200, routing.everywhere(req, ApiRequest.API + parts.get(0), out, ListMerge::objects));
            return;
        }
        boolean shape = suffix.isEmpty() ? parts.size() == 2 : parts.size() == 3 && parts.get(2).equals(suffix.get());
        if (!shape) {
            ApiResponses.notFound(req.exchange(), req.path());
            return;
        }
        String key = parts.get(1);
        if (!routing.servesHere(req, stream.historyStore(), key)) {
            return;
        }
        List<GenericRecord> history = queries.history(stream, key);
        if (history.isEmpty()) {
            send(req.exchange(), 404, error("nothing known of '" + key + "' in " + stream.topic()));
            return;
        }
        send(req.exchange(), 200, ApiResponses.array(history));
    }
}
