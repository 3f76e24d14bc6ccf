package org.saestream.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** Flink's REST API, as `flink stop --drain` uses it. */
final class FlinkRest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private FlinkRest() {
    }

    /** Stops every running job of the cluster at {@code port} with a drain (MAX watermark) and a savepoint. */
    static void stopWithDrain(int port) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + port;
        JsonNode jobs = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(base + "/jobs")).build(),
                HttpResponse.BodyHandlers.ofString()).body()).path("jobs");
        int stopped = 0;
        for (JsonNode job : jobs) {
            if (job.path("status").asText().equals("RUNNING")) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                                URI.create(base + "/jobs/" + job.path("id").asText() + "/stop"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"drain\": true}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() / 100 != 2) {
                    throw new IllegalStateException("stop failed: " + r.statusCode() + " " + r.body());
                }
                stopped++;
            }
        }
        if (stopped != 1) {
            throw new IllegalStateException("expected one running job at " + base + ", stopped " + stopped + ": " + jobs);
        }
    }
}
