package org.saestream.sink;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.util.function.BinaryOperator;

/**
 * Which instance answers: a request for one key is answered by the owner of the key's partition (forwarded there,
 * its answer back verbatim), a list by every instance together (this one's part merged with each other's
 * {@code ?scope=local} answer).
 */
final class ApiRouting {
    private final QueryRouter router;
    private final PeerClient peers;

    ApiRouting(QueryRouter router, PeerClient peers) {
        this.router = router;
        this.peers = peers;
    }

    String self() {
        return router.self();
    }

    /**
     * Whether this instance answers for {@code key} of {@code store}. When it does not, the request has been
     * answered already: forwarded to the key's owner (its status, headers and body verbatim), or 503 while no
     * owner is known. A keyed handler calls this before it reads a store.
     *
     * @param store a store whose source topic is keyed by {@code key} (the source topic's key, not the store's)
     */
    boolean servesHere(ApiRequest req, String store, String key) throws IOException {
        if (req.scopeLocal()) {
            return true;
        }
        QueryRouter.Route route = router.route(store, key);
        if (route instanceof QueryRouter.Local) {
            return true;
        }
        if (route instanceof QueryRouter.Remote remote && req.forwardedBy().isEmpty()) {
            peers.forward(req.exchange(), remote.endpoint());
        } else if (route instanceof QueryRouter.Remote remote) {
            // the forwarding instance and this one disagree on the owner: the assignment is changing
            ApiResponses.unavailable(req.exchange(), "'" + key + "' of " + store + " is owned by " + remote.endpoint()
                    + " now, not by " + router.self() + " to which " + req.forwardedBy().get()
                    + " forwarded it (rebalancing)");
        } else {
            ApiResponses.unavailable(req.exchange(), ((QueryRouter.Unavailable) route).reason());
        }
        return false;
    }

    /**
     * Whether the owner of {@code key} of {@code store}, when it is another instance, answers {@code path} with 200
     * (never true for a request of one instance's scope, nor when this instance is the owner).
     */
    boolean ownerElsewhereAnswers(ApiRequest req, String store, String key, String path) {
        if (req.scopeLocal()) {
            return false;
        }
        QueryRouter.Route route = router.route(store, key);
        if (route instanceof QueryRouter.Unavailable unavailable) {
            throw new org.apache.kafka.streams.errors.StreamsRebalancingException(unavailable.reason());
        }
        return route instanceof QueryRouter.Remote owner
                && peers.status(owner.endpoint(), path, req.authorization()) == 200;
    }

    /**
     * A list's answer from every instance: {@code local} merged with every other instance's answer to
     * {@code path?scope=local}. One that fails fails the request (a list missing keys would look complete).
     */
    JsonNode everywhere(ApiRequest req, String path, JsonNode local, BinaryOperator<JsonNode> merge) {
        if (req.scopeLocal()) {
            return local;
        }
        JsonNode out = local;
        for (JsonNode answer : peers.localAnswers(router.peers(), path, req.authorization())) {
            out = merge.apply(out, answer);
        }
        return out;
    }
}
