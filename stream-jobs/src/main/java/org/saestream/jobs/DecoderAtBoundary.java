package org.saestream.jobs;

/**
 * One SAE's decoder at a drift-window boundary (windowIndex -1: the end of the stream), on its way to
 * the ensemble comparison. A Flink POJO.
 */
public class DecoderAtBoundary {
    public static final long END_OF_STREAM = -1;

    /** the comparison key: the hook, or "*" for SAEs on every hook */
    public String hookKey;
    public String saeId;
    public long windowIndex;
    public long tokensSeen;
    public int dSae;
    public int dIn;
    /** row-major [dSae, dIn], unit rows */
    public float[] decoder;
    /** the SAE met its stop rule: it sends no later windows, only the end of stream */
    public boolean finished;

    public DecoderAtBoundary() {
    }

    public DecoderAtBoundary(String hookKey, String saeId, long windowIndex, long tokensSeen, int dSae, int dIn,
                             float[] decoder, boolean finished) {
        this.hookKey = hookKey;
        this.saeId = saeId;
        this.windowIndex = windowIndex;
        this.tokensSeen = tokensSeen;
        this.dSae = dSae;
        this.dIn = dIn;
        this.decoder = decoder;
        this.finished = finished;
    }

    static String hookKey(String hookName) {
        return hookName == null ? "*" : hookName;
    }
}
