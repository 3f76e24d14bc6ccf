package org.saestream.train;

/**
 * One optimizer step as the progress line and the benchmark see it.
 *
 * @param step           1-based optimizer step
 * @param totalSteps     steps of the run
 * @param tokensSeen     training tokens consumed up to and including this step (across resumes)
 * @param loss           this step's mean next-token loss
 * @param lossEma        exponential moving average of the loss (bias-corrected, decay 0.95)
 * @param learningRate   the rate this step was taken with
 * @param gradientNorm   global L2 norm of the gradient before clipping
 * @param clipped        whether the update used a clipped gradient
 * @param skipped        the loss or gradient was not finite: no update, no record
 * @param sessionSeconds wall time since this process started training
 * @param sessionTokens  tokens trained on since then
 * @param sessionSteps   steps taken since then
 * @param timings        where this step's time went
 */
public record StepReport(long step, long totalSteps, long tokensSeen, double loss, double lossEma, double learningRate,
                         double gradientNorm, boolean clipped, boolean skipped, double sessionSeconds, long sessionTokens,
                         long sessionSteps, StepTimings timings) {

    public double tokensPerSecond() {
        return sessionSeconds > 0 ? sessionTokens / sessionSeconds : 0;
    }

    /** Seconds left at this session's pace. */
    public double etaSeconds() {
        return sessionSteps > 0 ? sessionSeconds / sessionSteps * (totalSteps - step) : Double.NaN;
    }

    /** {@code step 120/2000 | 245.8k tokens | loss 5.432 (avg 5.610) | lr 9.60e-04 | 2.1k tokens/s | ETA 15m20s}. */
    public String progressLine() {
        return String.format(java.util.Locale.ROOT, "step %d/%d | %s tokens | loss %.4f (avg %.4f) | lr %.2e | |g| %.3f%s"
                        + " | %s tokens/s | ETA %s", step, totalSteps, count(tokensSeen), loss, lossEma, learningRate,
                gradientNorm, skipped ? " (not finite: step skipped)" : clipped ? " (clipped)" : "", count(Math.round(tokensPerSecond())), duration(etaSeconds()));
    }

    static String count(long n) {
        if (n >= 1_000_000) {
            return String.format(java.util.Locale.ROOT, "%.2fM", n / 1e6);
        }
        if (n >= 1_000) {
            return String.format(java.util.Locale.ROOT, "%.1fk", n / 1e3);
        }
        return Long.toString(n);
    }

    static String duration(double seconds) {
        if (!Double.isFinite(seconds)) {
            return "-";
        }
        long s = Math.round(seconds);
        if (s >= 3600) {
            return String.format(java.util.Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60);
        }
        if (s >= 60) {
            return String.format(java.util.Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
        return s + "s";
    }

    /**
     * Seconds of one step (or a sum over steps), by phase.
     *
     * @param forwardBackward the forward, the loss and the backward to every parameter
     * @param norms           per-tensor and global gradient norms (needed for clipping anyway)
     * @param sketch          copying the gradient to the JVM and sketching it (only when publishing)
     * @param optimizer       clipping and the AdamW update
     * @param publish         building, encoding and handing on the GradientStep record
     */
    public record StepTimings(double forwardBackward, double norms, double sketch, double optimizer, double publish) {
        public static final StepTimings ZERO = new StepTimings(0, 0, 0, 0, 0);

        public double total() {
            return forwardBackward + norms + sketch + optimizer + publish;
        }

        /** What publishing gradients adds to a step, as a fraction of the whole step. */
        public double publishingFraction() {
            double t = total();
            return t > 0 ? (sketch + publish) / t : 0;
        }

        public StepTimings plus(StepTimings o) {
            return new StepTimings(forwardBackward + o.forwardBackward, norms + o.norms, sketch + o.sketch,
                    optimizer + o.optimizer, publish + o.publish);
        }
    }
}
