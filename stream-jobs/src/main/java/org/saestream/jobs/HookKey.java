package org.saestream.jobs;

import org.apache.flink.api.java.functions.KeySelector;

/** Decoders of SAEs on the same hook meet in the same ensemble comparison. */
final class HookKey implements KeySelector<DecoderAtBoundary, String> {
    @Override
    public String getKey(DecoderAtBoundary decoder) {
        return decoder.hookKey;
    }
}
