package org.saestream.sink;

import com.sun.net.httpserver.HttpExchange;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;

/**
 * The sink's one credential: with a token configured, every request carries {@code Authorization: Bearer <token>}
 * (the scheme in any case: RFC 7235 section 2.1 makes auth schemes case-insensitive) or an {@code access_token}
 * query parameter (RFC 6750 section 2.3: a browser cannot set headers when it opens the dashboard or an
 * EventSource). Compared in constant time.
 */
final class BearerAuthentication {
    private static final String SCHEME = "Bearer ";
    private static final String QUERY_PARAMETER = "access_token=";
    private final Optional<byte[]> expected;

    /** @param token the token, or empty to serve without one */
    BearerAuthentication(Optional<String> token) {
        this.expected = token.map(t -> (SCHEME + t).getBytes(StandardCharsets.UTF_8));
    }

    boolean authorised(HttpExchange exchange) {
        if (expected.isEmpty()) {
            return true;
        }
        String header = exchange.getRequestHeaders().getFirst("Authorization");
        if (header != null) {
            String normalised = header.regionMatches(true, 0, SCHEME, 0, SCHEME.length())
                    ? SCHEME + header.substring(SCHEME.length()) : header;
            return matches(normalised);
        }
        String query = exchange.getRequestURI().getRawQuery();
        if (query == null) {
            return false;
        }
        for (String parameter : query.split("&")) {
            if (parameter.startsWith(QUERY_PARAMETER)) {
                return matches(SCHEME + URLDecoder.decode(parameter.substring(QUERY_PARAMETER.length()),
                        StandardCharsets.UTF_8));
            }
        }
        return false;
    }

    /** What a refused client is told: how to authenticate. */
    void challenge(HttpExchange exchange) {
        exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"saestream\"");
    }

    private boolean matches(String credentials) {
        return MessageDigest.isEqual(expected.orElseThrow(), credentials.getBytes(StandardCharsets.UTF_8));
    }
}
