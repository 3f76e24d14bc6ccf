package org.saestream.jobs;

import org.junit.jupiter.api.Test;
import org.saestream.records.RecordCodec;
import org.saestream.records.TokenIdentity;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BlockValidatorTest {
    private final BlockValidator validator = new BlockValidator(4, "h");

    @Test
    void acceptsAGoodBlockWithItsTokenIdentities() {
        float[] data = TestBlocks.randomRows(1, 3, 4);
        var outcome = validator.check(TestBlocks.record(0, RecordCodec.ACTIVATION_BLOCK.encode(
                TestBlocks.block(9, 3, 4, data, "h"))));
        TokenRows rows = assertInstanceOf(BlockValidator.Accepted.class, outcome).rows();
        assertEquals(3, rows.rows);
        assertArrayEquals(data, rows.data);
        assertEquals(TokenIdentity.hash(TestBlocks.SHARD, 9, 2), rows.identities[2]);
    }

    @Test
    void rejectsWithReasonsThatNameTheProblem() {
        assertReason(TestBlocks.record(1, new byte[] {1, 2, 3}), "ActivationBlock");
        assertReason(TestBlocks.record(2, RecordCodec.ACTIVATION_BLOCK.encode(
                TestBlocks.block(2, 2, 5, TestBlocks.randomRows(2, 2, 5), "h"))), "width 5, expected 4");
        float[] nan = TestBlocks.randomRows(3, 2, 4);
        nan[6] = Float.NaN;
        assertReason(TestBlocks.record(3, RecordCodec.ACTIVATION_BLOCK.encode(TestBlocks.block(3, 2, 4, nan, "h"))),
                "NaN at token 1, dimension 2");
        float[] inf = TestBlocks.randomRows(4, 2, 4);
        inf[0] = Float.NEGATIVE_INFINITY;
        assertReason(TestBlocks.record(4, RecordCodec.ACTIVATION_BLOCK.encode(TestBlocks.block(4, 2, 4, inf, "h"))),
                "-Infinity at token 0");
        var shortData = TestBlocks.block(5, 2, 4, TestBlocks.randomRows(5, 2, 4), "h");
        shortData.setData(ByteBuffer.wrap(new byte[12]));
        assertReason(TestBlocks.record(5, RecordCodec.ACTIVATION_BLOCK.encode(shortData)), "data holds 12 bytes");
    }

    @Test
    void skipsOtherHooks() {
        var outcome = validator.check(TestBlocks.record(0, RecordCodec.ACTIVATION_BLOCK.encode(
                TestBlocks.block(1, 2, 7, TestBlocks.randomRows(1, 2, 7), "other"))));
        assertEquals("other", assertInstanceOf(BlockValidator.Skipped.class, outcome).hookName());
    }

    private void assertReason(InputRecord record, String expected) {
        String reason = assertInstanceOf(BlockValidator.Rejected.class, validator.check(record)).reason();
        assertTrue(reason.contains(expected), "'" + reason + "' should contain '" + expected + "'");
    }
}
