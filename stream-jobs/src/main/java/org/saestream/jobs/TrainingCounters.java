package org.saestream.jobs;

/** Per-experiment bookkeeping kept in Flink state beside the SAE. */
public class TrainingCounters {
    /** tokens accepted into the mixing buffer */
    public long tokensReceived;
    /** order-independent sum of the identities of the tokens trained on */
    public long tokenChecksum;
    public long recordsAccepted;
    public long recordsRejected;
    /** records of other hooks in the same topic, ignored */
    public long recordsSkipped;
    public long drainCycles;
    public long lastSnapshotTokens;
    public boolean endTimerRegistered;

    public TrainingCounters() {
    }
}
