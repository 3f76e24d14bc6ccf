package org.saestream.sink;

/** Store names are part of the internal topic names: never change them. */
final class StoreNames {
    static final String METRICS_HISTORY = "sae-metrics-history";
    static final String METRICS_LATEST = "sae-metrics-latest";
    static final String SNAPSHOT_CHUNKS = "sae-snapshot-chunks";
    static final String SNAPSHOT_INDEX = "sae-snapshots-index";

    private StoreNames() {
    }

    /** History key: one SAE's records sort by step under the prefix {@code <saeKey>/}. */
    static String historyKey(String saeKey, long step) {
        return saeKey + "/" + String.format("%019d", step);
    }

    static String prefix(String saeKey) {
        return saeKey + "/";
    }
}
