package org.saestream.cli;

import org.saestream.embedded.EmbeddedStack;
import org.saestream.records.SaeMetrics;

import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;

/** What the demos share: following production into the SAE with progress lines, and the figures they print. */
final class DemoRun {
    private static final long PRINT_EVERY_MILLIS = 2000;
    private static final double GIVE_UP_SECONDS = 3600;

    private DemoRun() {
    }

    /**
     * Prints progress every two seconds until the SAE has trained every produced token and its final snapshot is in
     * the sink. Once the job has received all of them (trained or in the mixing buffer) it is drained, which flushes
     * the buffer and publishes that snapshot.
     *
     * @param produced   tokens produced so far
     * @param production completes with the number of tokens produced in all
     * @return the SAE's last metrics
     */
    static SaeMetrics follow(EmbeddedStack stack, String saeKey, LongSupplier produced,
                             CompletableFuture<Long> production, Progress clock) throws Exception {
        SaeMetrics last = null;
        boolean drained = false;
        while (true) {
            Thread.sleep(PRINT_EVERY_MILLIS);
            last = stack.latest(saeKey).orElse(last);
            long trained = last == null ? 0 : last.getTokensSeen();
            long received = last == null ? 0 : trained + last.getTokensBuffered();
            printProgress(clock, produced.getAsLong(), trained, last);
            if (production.isDone() && !drained && received >= production.join()) {
                stack.drain();
                drained = true;
            }
            if (drained && trained >= production.join() && stack.snapshotAt(saeKey, trained).isPresent()) {
                return last;
            }
            if (clock.elapsedSeconds() > GIVE_UP_SECONDS) {
                throw new IllegalStateException("the demo did not finish within an hour");
            }
        }
    }

    static void printProgress(Progress clock, long produced, long trained, SaeMetrics m) {
        double t = clock.elapsedSeconds();
        boolean reference = m != null && m.getReferenceMmcs() != null;
        System.out.printf(Locale.ROOT,
                "[%5.1fs] produced %s tokens (%s/s) | trained %s (%s/s) | mse %s | L0 %s | dead %s%s | self-sim %s%n",
                t, Progress.count(produced), Progress.count((long) (produced / t)), Progress.count(trained),
                Progress.count((long) (trained / t)), field(m == null ? null : m.getMse(), "%.4f"),
                field(m == null ? null : m.getL0(), "%.2f"), field(m == null ? null : m.getDeadFraction(), "%.3f"),
                reference ? " | MMCS vs truth " + field(m.getReferenceMmcs(), "%.4f") : "",
                field(m == null ? null : m.getSelfSimilarityMean(), "%.4f"));
    }

    /** A figure, or "-" where there is none yet. */
    static String field(Double value, String format) {
        return value == null ? "-" : String.format(Locale.ROOT, format, value);
    }

    /** With --serve, keeps the sink (and with it the dashboard) up until the process is interrupted. */
    static void serveUntilInterrupted(boolean serve, EmbeddedStack stack) throws InterruptedException {
        if (serve) {
            System.out.println("serving the dashboard at " + stack.dashboardUrl() + " until Ctrl-C");
            Thread.currentThread().join();
        }
    }
}
