package org.saestream.jobs;

/**
 * What the router hands one SAE group: accepted rows, or (rows == null) notice that a record was
 * dead-lettered, so every SAE can report how many records it lost. A Flink POJO.
 */
public class GroupInput {
    public String groupKey;
    public TokenRows rows;

    public GroupInput() {
    }

    public GroupInput(String groupKey, TokenRows rows) {
        this.groupKey = groupKey;
        this.rows = rows;
    }

    public boolean isRejection() {
        return rows == null;
    }
}
