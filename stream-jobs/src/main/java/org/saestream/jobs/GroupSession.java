package org.saestream.jobs;

import org.saestream.sae.DictionaryComparison;
import org.saestream.sae.SaeTrainer;
import org.saestream.sae.StepResult;

import java.util.List;

/** The working copy of one group's keyed state, plus what is only for display (last steps, reference scores). */
final class GroupSession {
    final SaeGroup group;
    final List<SaeTrainer> trainers;
    final MixingBuffer buffer;
    final TrainingCounters counters;
    /** each member's last step, repeated in progress metrics between drains (not state: display only) */
    final StepResult[] lastSteps;
    /** each member against the reference dictionary at its last window (null without a reference) */
    final DictionaryComparison.Comparison[] referenceComparisons;
    boolean progressTimerPending;

    GroupSession(SaeGroup group, List<SaeTrainer> trainers, MixingBuffer buffer, TrainingCounters counters) {
        this.group = group;
        this.trainers = List.copyOf(trainers);
        this.buffer = buffer;
        this.counters = counters;
        this.lastSteps = new StepResult[trainers.size()];
        this.referenceComparisons = new DictionaryComparison.Comparison[trainers.size()];
    }
}
