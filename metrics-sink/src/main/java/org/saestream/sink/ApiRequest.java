package org.saestream.sink;

import com.sun.net.httpserver.HttpExchange;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * One request under /api/: its path, split at '/' and URL-decoded, and how far it reaches.
 *
 * @param parts       the path's parts after /api/, empty ones dropped
 * @param scopeLocal  {@code ?scope=local}: answer from this instance's stores only (what peers ask each other)
 * @param forwardedBy the instance that forwarded this request to its key's owner (never forwarded again)
 */
record ApiRequest(HttpExchange exchange, String path, List<String> parts, boolean scopeLocal,
                  Optional<String> forwardedBy) {
    static final String API = "/api/";

    static ApiRequest of(HttpExchange exchange) {
        URI uri = exchange.getRequestURI();
        String path = uri.getRawPath();
        boolean scopeLocal = uri.getRawQuery() != null
                && Arrays.asList(uri.getRawQuery().split("&")).contains(PeerClient.SCOPE_LOCAL);
        List<String> parts = Arrays.stream(path.substring(API.length()).split("/", -1))
                .map(p -> URLDecoder.decode(p, StandardCharsets.UTF_8)).filter(p -> !p.isEmpty()).toList();
        return new ApiRequest(exchange, path, parts, scopeLocal,
                Optional.ofNullable(exchange.getRequestHeaders().getFirst(PeerClient.FORWARDED_BY)));
    }

    /** The part at {@code index}, or "" where the path is shorter. */
    String part(int index) {
        return index < parts.size() ? parts.get(index) : "";
    }

    String authorization() {
        return exchange.getRequestHeaders().getFirst("Authorization");
    }
}
