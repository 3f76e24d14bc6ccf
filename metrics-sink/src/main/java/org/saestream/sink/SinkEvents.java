package org.saestream.sink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Live updates for Server-Sent Events: every record the sink materialises is offered to each connected
 * client's queue. A client too slow to keep up loses events (its queue is bounded) rather than slowing
 * the stream threads; it can always re-read the history endpoints.
 */
public final class SinkEvents {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int QUEUE = 1024;

    /** One event: its SSE type and its JSON data ({"key": ..., "value": ...}). */
    public record Event(String type, String data) {
    }

    private final List<BlockingQueue<Event>> subscribers = new CopyOnWriteArrayList<>();

    void publish(String type, String key, JsonNode value) {
        if (subscribers.isEmpty()) {
            return;
        }
        ObjectNode data = JSON.createObjectNode().put("key", key);
        data.set("value", value);
        Event event = new Event(type, data.toString());
        for (BlockingQueue<Event> q : subscribers) {
            q.offer(event); // full: this client misses the event
        }
    }

    /** A new client's queue; {@link #unsubscribe} it when the client goes. */
    BlockingQueue<Event> subscribe() {
        BlockingQueue<Event> q = new ArrayBlockingQueue<>(QUEUE);
        subscribers.add(q);
        return q;
    }

    void unsubscribe(BlockingQueue<Event> q) {
        subscribers.remove(q);
    }

    static Event poll(BlockingQueue<Event> q, long millis) throws InterruptedException {
        return q.poll(millis, TimeUnit.MILLISECONDS);
    }
}
