package org.saestream.sink;

import com.sun.net.httpserver.HttpExchange;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;

/**
 * One client's /api/events: Server-Sent Events of every record materialised from the moment it connects.
 * An instance's own events cover only its partitions, so unless the client asked for scope=local the
 * events of every other instance are followed too ({@code ?scope=local} there) and merged into the same
 * bounded queue; a peer that goes away just ends its part, and is followed again once it is back.
 */
final class EventStream {
    private static final Logger LOG = LoggerFactory.getLogger(EventStream.class);
    /** A comment line after this much silence keeps proxies from closing the stream. */
    private static final long KEEPALIVE_MS = 15_000;
    /** How often the instances followed are checked against those holding partitions now. */
    private static final long PEER_CHECK_MS = 5_000;

    private final SinkEvents events;
    private final QueryRouter router;
    private final PeerClient peers;
    private final ExecutorService threads;

    /** @param threads where the peers' streams are read (one thread each) */
    EventStream(SinkEvents events, QueryRouter router, PeerClient peers, ExecutorService threads) {
        this.events = events;
        this.router = router;
        this.peers = peers;
        this.threads = threads;
    }

    /**
     * Streams until the client goes or the thread is interrupted. ": connected" is sent once the peers'
     * streams are open, so what is materialised anywhere after it arrives.
     */
    void serve(HttpExchange exchange, boolean scopeLocal, String authorization) {
        BlockingQueue<SinkEvents.Event> queue = events.subscribe();
        Map<String, PeerClient.EventFeed> feeds = new HashMap<>();
        try {
            if (!scopeLocal) {
                followPeers(authorization, queue, feeds);
            }
            exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
            exchange.getResponseHeaders().set("Cache-Control", "no-store");
            exchange.sendResponseHeaders(200, 0);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(": connected\n\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
                long lastWrite = System.currentTimeMillis();
                long nextPeerCheck = scopeLocal ? Long.MAX_VALUE : lastWrite + PEER_CHECK_MS;
                while (!Thread.currentThread().isInterrupted()) {
                    long wakeUp = Math.min(lastWrite + KEEPALIVE_MS, nextPeerCheck);
                    SinkEvents.Event e = SinkEvents.poll(queue, Math.max(1, wakeUp - System.currentTimeMillis()));
                    long now = System.currentTimeMillis();
                    String chunk = e != null ? "event: " + e.type() + "\ndata: " + e.data() + "\n\n"
                            : now - lastWrite >= KEEPALIVE_MS ? ": keep-alive\n\n" : null;
                    if (chunk != null) {
                        out.write(chunk.getBytes(StandardCharsets.UTF_8));
                        out.flush();
                        lastWrite = now;
                    }
                    if (now >= nextPeerCheck) {
                        followPeers(authorization, queue, feeds);
                        nextPeerCheck = now + PEER_CHECK_MS;
                    }
                }
            }
        } catch (IOException | InterruptedException e) {
            // the client went away, or the server is closing
        } finally {
            events.unsubscribe(queue);
            feeds.values().forEach(PeerClient.EventFeed::close);
        }
    }

    /**
     * Follows every peer not followed yet into {@code queue} (bounded: as with local events, a client too slow
     * loses some). A feed that ended is dropped first; a peer that cannot be followed now is tried at the next check.
     */
    private void followPeers(String authorization, BlockingQueue<SinkEvents.Event> queue,
                             Map<String, PeerClient.EventFeed> feeds) {
        feeds.values().removeIf(f -> {
            if (f.ended()) {
                f.close();
                return true;
            }
            return false;
        });
        List<String> now;
        try {
            now = router.peers();
        } catch (InvalidStateStoreException e) {
            LOG.debug("event stream: the other instances are not known yet: {}", e.getMessage());
            return;
        }
        for (String peer : now) {
            if (!feeds.containsKey(peer)) {
                try {
                    feeds.put(peer, peers.follow(peer, authorization, threads, queue::offer));
                } catch (PeerClient.PeerFailure e) {
                    LOG.info("event stream: not following {} for now: {}", peer, e.getMessage());
                }
            }
        }
    }
}
