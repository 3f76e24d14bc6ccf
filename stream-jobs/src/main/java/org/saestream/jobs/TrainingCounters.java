package org.saestream.jobs;

/** Per-experiment bookkeeping kept in Flink state beside the SAE. */
public class TrainingCounters {
    /** order-independent sum of the identities of the tokens trained on */
    public long tokenChecksum;
    public long recordsRejected;
    public long drainCycles;
    public long lastSnapshotTokens;
    public boolean endTimerRegistered;

    public TrainingCounters() {
    }
}
