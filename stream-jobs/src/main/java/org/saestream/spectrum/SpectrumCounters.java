package org.saestream.spectrum;

/**
 * A run's bookkeeping, in keyed state beside the sketch (a Flink POJO: public fields, no-arg constructor).
 * The first accepted record fixes the run's sketch width, method and seed.
 */
public class SpectrumCounters {
    /** k; 0 until the first accepted record. */
    public int width;
    /** SketchMethod name of the first accepted record; null until then. */
    public String sketchMethod;
    public long sketchSeed;
    /** Steps folded into the sketch. */
    public long rowsSeen;
    /** Step number of the last accepted record; steps must increase. */
    public long lastStep;
    public long recordsRejected;
    /** rowsSeen at the last published SpectrumMetrics. */
    public long publishedAtRows;
    /** R the recent-steps ring was laid out with. */
    public int recentCapacity;
    public boolean endTimerRegistered;

    public SpectrumCounters() {
    }

    static SpectrumCounters fresh(int recentCapacity) {
        SpectrumCounters c = new SpectrumCounters();
        c.lastStep = Long.MIN_VALUE;
        c.recentCapacity = recentCapacity;
        return c;
    }
}
