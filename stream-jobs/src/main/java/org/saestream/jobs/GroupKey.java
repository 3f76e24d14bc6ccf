package org.saestream.jobs;

import org.apache.flink.api.java.functions.KeySelector;

/** Routes rows to the SAE group the router addressed them to. */
final class GroupKey implements KeySelector<GroupInput, String> {
    @Override
    public String getKey(GroupInput input) {
        return input.groupKey;
    }
}
