package org.saestream.jobs;

import org.saestream.sae.SaeConfig;

import java.io.Serializable;
import java.util.List;

/**
 * SAEs that train side by side in one keyed operator instance: they read the same hook, have the same
 * width and batch size, and so share one mixing buffer and see the very same batches. Transcoders also share their
 * target hook and width: the group pairs each token's row of the input hook with its row of the target hook
 * ({@link PairingBuffer}) and trains on the pairs.
 *
 * @param key      the Flink key of the group (chosen so groups land on different subtasks)
 * @param hookName the hook its members train on (a transcoder's input), or null for every hook in the topic
 * @param dIn      activation width of every member
 * @param batchSize tokens per step of every member
 * @param members  the SAEs, in the order of the experiment file
 * @param hookNameOut a transcoder group's target hook; null for autoencoders
 * @param dOut     a transcoder group's target width; 0 for autoencoders
 */
public record SaeGroup(String key, String hookName, int dIn, int batchSize, List<SaeConfig> members,
                       String hookNameOut, int dOut) implements Serializable {
    public SaeGroup {
        if (members.isEmpty()) {
            throw new IllegalArgumentException("group " + key + " has no SAEs");
        }
        members = List.copyOf(members);
        if (hookNameOut != null && (hookName == null || dOut < 1)) {
            throw new IllegalArgumentException("transcoder group " + key + " needs an input hook and d_out >= 1");
        }
    }

    /** A group of autoencoders. */
    public SaeGroup(String key, String hookName, int dIn, int batchSize, List<SaeConfig> members) {
        this(key, hookName, dIn, batchSize, members, null, 0);
    }

    /** Whether its members are transcoders, trained on pairs of rows. */
    public boolean isTranscoder() {
        return hookNameOut != null;
    }

    /** Floats per training row: d_in, or d_in + d_out for transcoders. */
    public int rowWidth() {
        return isTranscoder() ? dIn + dOut : dIn;
    }

    /** Whether blocks of this hook feed the group. */
    public boolean takes(String blockHook) {
        return hookName == null || hookName.equals(blockHook) || (hookNameOut != null && hookNameOut.equals(blockHook));
    }

    /** What rows of this hook are to the group (for a hook it {@link #takes}). */
    public RowSide sideOf(String blockHook) {
        if (!isTranscoder()) {
            return RowSide.WHOLE;
        }
        return hookName.equals(blockHook) ? RowSide.INPUT : RowSide.TARGET;
    }

    /** The width rows of that side have. */
    public int widthOf(RowSide side) {
        return side == RowSide.TARGET ? dOut : dIn;
    }

    public int indexOf(String saeId) {
        for (int i = 0; i < members.size(); i++) {
            if (members.get(i).saeId().equals(saeId)) {
                return i;
            }
        }
        throw new IllegalArgumentException("no SAE " + saeId + " in group " + key);
    }
}
