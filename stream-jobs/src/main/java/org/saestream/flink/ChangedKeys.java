package org.saestream.flink;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** The keys a {@link WorkingState} function changed since its last checkpoint, in the order first changed. */
public final class ChangedKeys<K> {
    private final Set<K> keys = new LinkedHashSet<>();

    public void mark(K key) {
        keys.add(key);
    }

    /** The keys changed so far; the set starts over empty. */
    public List<K> take() {
        List<K> taken = new ArrayList<>(keys);
        keys.clear();
        return taken;
    }
}
