package org.saestream.records;

import java.nio.charset.StandardCharsets;

/**
 * A 64-bit identity for one token position (shard, document, position). Producers and jobs sum these
 * (mod 2^64) into an order-independent checksum: a token trained twice, or skipped, changes the sum.
 */
public final class TokenIdentity {
    private TokenIdentity() {
    }

    public static long hash(String shardId, long documentId, long position) {
        return hashInDocument(documentKey(shardId, documentId), position);
    }

    /** The part of {@link #hash} shared by every token of one document; hoist it out of per-token loops. */
    public static long documentKey(String shardId, long documentId) {
        long h = 0xCBF29CE484222325L; // FNV-1a over the shard id's UTF-8
        for (byte b : shardId.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xFF)) * 0x100000001B3L;
        }
        return mix(h ^ mix(documentId ^ 0x9E3779B97F4A7C15L));
    }

    public static long hashInDocument(long documentKey, long position) {
        return mix(documentKey + mix(position + 0x632BE59BD9B4E019L));
    }

    /** SplitMix64's finaliser. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
