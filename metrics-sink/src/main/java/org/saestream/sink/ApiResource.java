package org.saestream.sink;

import java.io.IOException;

/** The handler of one resource of the API, {@code /api/<name>/...}. */
@FunctionalInterface
interface ApiResource {
    void handle(ApiRequest req) throws IOException;
}
