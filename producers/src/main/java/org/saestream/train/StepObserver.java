package org.saestream.train;

/**
 * Watches training from beside the loop: told after each step, with the model's weights as that step left them. It
 * may read the model and move its weights for a while, but must put them back exactly before it returns (as
 * {@link org.saestream.lm.ParameterShift} does), so that a watched run trains bitwise as an unwatched one.
 */
public interface StepObserver {
    /**
     * @param report           the step's figures
     * @param sketchedGradient the step's gradient in the run's sketch space ({@link GradientSketch}); null for a skipped
     *                         step or a run that sketches nothing
     */
    void afterStep(StepReport report, float[] sketchedGradient);
}
