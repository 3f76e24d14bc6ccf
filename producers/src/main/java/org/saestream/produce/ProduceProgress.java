package org.saestream.produce;

/** Told after every committed transaction, so long runs can show tokens, tokens/s and ETA. */
@FunctionalInterface
public interface ProduceProgress {
    void committed(long tokens, long records);

    ProduceProgress NONE = (tokens, records) -> { };
}
