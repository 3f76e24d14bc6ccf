package org.saestream.jobs;

import org.saestream.sae.SaeConfig;

import java.io.Serializable;
import java.util.List;

/**
 * SAEs that train side by side in one keyed operator instance: they read the same hook, have the same
 * width and batch size, and so share one mixing buffer and see the very same batches.
 *
 * @param key      the Flink key of the group (chosen so groups land on different subtasks)
 * @param hookName the hook its members train on, or null for every hook in the topic
 * @param dIn      activation width of every member
 * @param batchSize tokens per step of every member
 * @param members  the SAEs, in the order of the experiment file
 */
public record SaeGroup(String key, String hookName, int dIn, int batchSize, List<SaeConfig> members)
        implements Serializable {
    public SaeGroup {
        if (members.isEmpty()) {
            throw new IllegalArgumentException("group " + key + " has no SAEs");
        }
        members = List.copyOf(members);
    }

    /** Whether blocks of this hook feed the group. */
    public boolean takes(String blockHook) {
        return hookName == null || hookName.equals(blockHook);
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
