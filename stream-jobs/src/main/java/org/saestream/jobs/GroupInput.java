package org.saestream.jobs;

import java.util.Objects;

/**
 * What the router hands one SAE group: accepted rows ({@link #accepted}), or notice that a record was
 * dead-lettered ({@link #rejection}), so every SAE can report how many records it lost. A Flink POJO (public
 * fields, a no-argument constructor), hence a flag rather than a sealed type.
 */
public class GroupInput {
    public String groupKey;
    public boolean rejected;
    /** The accepted rows; absent for a rejection. */
    public TokenRows rows;
    /** the pass over the replayed range the record came in ({@code replay --epochs}), from 1 */
    public int epoch = 1;
    /** what the rows are to the group: whole training rows, or one half of a transcoder's pairs */
    public RowSide side = RowSide.WHOLE;

    public GroupInput() {
    }

    private GroupInput(String groupKey, boolean rejected, TokenRows rows) {
        this.groupKey = groupKey;
        this.rejected = rejected;
        this.rows = rows;
    }

    public static GroupInput accepted(String groupKey, TokenRows rows) {
        return new GroupInput(groupKey, false, Objects.requireNonNull(rows, "rows"));
    }

    /** Rows that are one side of a transcoder group's pairs. */
    public static GroupInput accepted(String groupKey, TokenRows rows, RowSide side) {
        GroupInput input = accepted(groupKey, rows);
        input.side = side;
        return input;
    }

    public static GroupInput rejection(String groupKey) {
        return new GroupInput(groupKey, true, null);
    }

    /** Tags this input with the pass it came in. */
    public GroupInput inEpoch(int n) {
        this.epoch = n;
        return this;
    }

    public boolean isRejection() {
        return rejected;
    }
}
