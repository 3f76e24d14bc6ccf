package org.saestream.jobs;

import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.saestream.sae.SaeConfig;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Splits an ensemble into {@link SaeGroup}s. SAEs that could share batches (same hook, width and batch
 * size) are spread round-robin over up to {@code parallelism} groups; each group's key is picked so that
 * Flink's key-group hashing sends different groups to different subtasks where there are enough of them.
 */
final class SaeGroups {
    private SaeGroups() {
    }

    static List<SaeGroup> plan(List<SaeConfig> saes, String defaultHook, int parallelism, int maxParallelism) {
        Map<String, List<SaeConfig>> compatible = new LinkedHashMap<>();
        for (SaeConfig sae : saes) {
            String hook = hookOf(sae, defaultHook);
            if (sae.isTranscoder() && hook == null) {
                throw new IllegalArgumentException("transcoder " + sae.saeId() + " reads every hook; it needs one named"
                        + " input hook");
            }
            String target = sae.isTranscoder() ? sae.hookNameOut() + "|" + sae.dOut() : "";
            compatible.computeIfAbsent(hook + "|" + sae.dIn() + "|" + sae.batchSize() + "|" + target,
                    k -> new ArrayList<>()).add(sae);
        }
        List<SaeGroup> groups = new ArrayList<>();
        Set<Integer> usedSubtasks = new HashSet<>();
        Set<String> usedKeys = new HashSet<>();
        for (List<SaeConfig> same : compatible.values()) {
            int n = Math.min(parallelism, same.size());
            List<List<SaeConfig>> split = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                split.add(new ArrayList<>());
            }
            for (int i = 0; i < same.size(); i++) {
                split.get(i % n).add(same.get(i));
            }
            for (List<SaeConfig> members : split) {
                String key = spreadKey("g" + groups.size(), usedSubtasks, usedKeys, parallelism, maxParallelism);
                SaeConfig first = members.get(0);
                groups.add(new SaeGroup(key, hookOf(first, defaultHook), first.dIn(), first.batchSize(), members,
                        first.isTranscoder() ? first.hookNameOut() : null, first.isTranscoder() ? first.dOut() : 0));
            }
        }
        return groups;
    }

    /** The SAE's own hook, else the experiment's; null (or "") means every hook. */
    static String hookOf(SaeConfig sae, String defaultHook) {
        String hook = sae.hookName().isEmpty() ? defaultHook : sae.hookName();
        return hook == null || hook.isEmpty() ? null : hook;
    }

    /** base, or base-1, base-2, ... : the first whose subtask is still free (any, once all are taken). */
    private static String spreadKey(String base, Set<Integer> usedSubtasks, Set<String> usedKeys, int parallelism,
                                    int maxParallelism) {
        boolean allTaken = usedSubtasks.size() >= parallelism;
        for (int attempt = 0; attempt < 10_000; attempt++) {
            String key = attempt == 0 ? base : base + "-" + attempt;
            int subtask = KeyGroupRangeAssignment.assignKeyToParallelOperator(key, maxParallelism, parallelism);
            if (!usedKeys.contains(key) && (allTaken || !usedSubtasks.contains(subtask))) {
                usedSubtasks.add(subtask);
                usedKeys.add(key);
                return key;
            }
        }
        throw new IllegalStateException("no key for group " + base + " after 10000 attempts");
    }

    static SaeGroup byKey(List<SaeGroup> groups, String key) {
        for (SaeGroup g : groups) {
            if (Objects.equals(g.key(), key)) {
                return g;
            }
        }
        throw new IllegalStateException("no SAE group with key " + key + " in this experiment");
    }
}
