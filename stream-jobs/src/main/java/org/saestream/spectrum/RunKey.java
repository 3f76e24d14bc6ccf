package org.saestream.spectrum;

import org.apache.flink.api.java.functions.KeySelector;
import org.saestream.flink.InputRecord;

import java.nio.charset.StandardCharsets;

/** Producers key gradient records by run id; a record without a key gets the empty key (and is rejected there). */
public final class RunKey implements KeySelector<InputRecord, String> {
    @Override
    public String getKey(InputRecord record) {
        return record.key == null ? "" : new String(record.key, StandardCharsets.UTF_8);
    }
}
