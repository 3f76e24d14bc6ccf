package org.saestream.jobs;

import org.saestream.sae.DictionaryComparison;
import org.saestream.sae.SaeTrainer;
import org.saestream.sae.StepResult;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The working copy of one group's keyed state, what of it was written at the last checkpoint, and what is only
 * for display (last steps, reference scores).
 */
final class GroupSession {
    final SaeGroup group;
    final List<SaeTrainer> trainers;
    final MixingBuffer buffer;
    final TrainingCounters counters;
    /** blocks (with origin) waiting to be encoded for feature examples at the next drain */
    final List<TokenRows> exampleBlocks;
    /** each member's feature examples of its current window (null entries when examples are off) */
    final FeatureExampleTracker[] trackers;
    /** each member's last step, repeated in progress metrics between drains (not state: display only) */
    final StepResult[] lastSteps;
    /** each member's steps when its trainer was last written to keyed state (-1: never) */
    final long[] writtenSteps;
    /** each member's drift-window decoders' version when last written to keyed state (MIN_VALUE: never) */
    final long[] writtenBoundaries;
    /** each member's tracker changed since it was last written to keyed state */
    final boolean[] trackerChanged;
    /** each member against the reference dictionary at its last window (null without a reference) */
    final DictionaryComparison.Comparison[] referenceComparisons;
    /** a transcoder group's halves waiting for their partners; null for autoencoders */
    final PairingBuffer pairing;
    boolean progressTimerPending;

    GroupSession(SaeGroup group, List<SaeTrainer> trainers, MixingBuffer buffer, TrainingCounters counters,
                 List<TokenRows> exampleBlocks, FeatureExampleTracker[] trackers, PairingBuffer pairing) {
        this.group = group;
        this.pairing = pairing;
        this.trainers = List.copyOf(trainers);
        this.buffer = buffer;
        this.counters = counters;
        this.exampleBlocks = new ArrayList<>(exampleBlocks);
        this.trackers = trackers;
        this.lastSteps = new StepResult[trainers.size()];
        this.writtenSteps = new long[trainers.size()];
        Arrays.fill(writtenSteps, -1);
        this.writtenBoundaries = new long[trainers.size()];
        Arrays.fill(writtenBoundaries, Long.MIN_VALUE);
        this.trackerChanged = new boolean[trainers.size()];
        this.referenceComparisons = new DictionaryComparison.Comparison[trainers.size()];
    }
}
