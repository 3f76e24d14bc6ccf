package org.saestream.produce;

/**
 * What a producer published and committed.
 *
 * @param tokenChecksum sum (mod 2^64) of TokenIdentity hashes of every token published
 */
public record ProduceSummary(long tokens, long records, long tokenChecksum, double seconds) {
    public double tokensPerSecond() {
        return seconds > 0 ? tokens / seconds : 0;
    }
}
