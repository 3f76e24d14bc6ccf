package org.saestream.jobs;

/** Per-group bookkeeping kept in Flink state beside the SAEs; arrays are indexed like the group's members. */
public class TrainingCounters {
    /** order-independent sum of the identities of the tokens each SAE trained on */
    public long[] tokenChecksum;
    /** tokens_seen at each SAE's last snapshot */
    public long[] lastSnapshotTokens;
    public long recordsRejected;
    public long drainCycles;
    /**
     * accepted blocks so far (a transcoder group's input blocks); every FeatureExampleOptions.everyBlocks-th one is
     * kept for feature examples
     */
    public long blocksAccepted;
    /** a transcoder group's halves let go unpaired ({@link PairingBuffer#dropped()}) */
    public long halvesDropped;
    public boolean endTimerRegistered;
    /** the pass over the range being trained ({@code replay --epochs}), from 1; 0 before the first record */
    public int epoch;
    /** tokens each SAE trained on in the current pass (each once per pass) */
    public long[] epochTokens;
    /** {@link #tokenChecksum} over the current pass only */
    public long[] epochChecksum;

    public TrainingCounters() {
    }

    static TrainingCounters fresh(int members) {
        TrainingCounters c = new TrainingCounters();
        c.tokenChecksum = new long[members];
        c.lastSnapshotTokens = new long[members];
        c.epochTokens = new long[members];
        c.epochChecksum = new long[members];
        return c;
    }
}
