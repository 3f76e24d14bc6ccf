package org.saestream.train;

/**
 * Linear warm-up to the peak learning rate, then cosine decay from the peak (the first step after the
 * warm-up) to {@code minLrRatio * peak} (the last step). Steps count from 1: step 1 of a warm-up of W
 * steps runs at peak / W, step W at the peak.
 *
 * @param peak        the learning rate after warm-up
 * @param warmupSteps steps of linear warm-up (0: none)
 * @param totalSteps  steps of the run; the cosine reaches its floor at this step
 * @param minLrRatio  the floor as a fraction of the peak
 */
public record LrSchedule(double peak, int warmupSteps, long totalSteps, double minLrRatio) {
    public LrSchedule {
        if (!(peak > 0) || warmupSteps < 0 || totalSteps < 1 || warmupSteps > totalSteps
                || !(minLrRatio >= 0 && minLrRatio <= 1)) {
            throw new IllegalArgumentException("schedule needs peak > 0, 0 <= warmup <= total, total >= 1 and a min ratio"
                    + " in [0, 1]; got " + peak + ", " + warmupSteps + ", " + totalSteps + ", " + minLrRatio);
        }
    }

    static LrSchedule of(TrainConfig config) {
        return new LrSchedule(config.optimizer().lr(), config.schedule().warmupSteps(), config.steps(),
                config.schedule().minLrRatio());
    }

    /** The learning rate of optimizer step {@code step} (1-based). */
    public double at(long step) {
        if (step < 1) {
            throw new IllegalArgumentException("steps count from 1, got " + step);
        }
        if (step <= warmupSteps) {
            return peak * step / warmupSteps;
        }
        // the first step after warm-up runs at the peak, the last at the floor
        long decaySteps = totalSteps - warmupSteps - 1;
        double floor = peak * minLrRatio;
        if (decaySteps <= 0) {
            return peak;
        }
        double progress = Math.min(1.0, (double) (step - warmupSteps - 1) / decaySteps);
        return floor + (peak - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
}
