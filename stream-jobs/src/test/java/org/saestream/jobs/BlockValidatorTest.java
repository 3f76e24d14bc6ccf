package org.saestream.jobs;

import org.junit.jupiter.api.Test;
import org.saestream.flink.InputRecord;
import org.saestream.records.RecordCodec;
import org.saestream.records.TokenIdentity;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BlockValidatorTest {
    private static SaeGroup group(String key, String hook, int width, int batch) {
        return new SaeGroup(key, hook, width, batch, java.util.List.of(
                org.saestream.sae.SaeConfig.reluL1("s-" + key, width, 16).withBatchSize(batch)));
    }

    private final BlockValidator validator = new BlockValidator(java.util.List.of(group("g0", "h", 4, 8)));

    @Test
    void acceptsAGoodBlockWithItsTokenIdentities() {
        float[] data = TestBlocks.randomRows(1, 3, 4);
        var outcome = validator.check(TestBlocks.record(0, RecordCodec.ACTIVATION_BLOCK.encode(
                TestBlocks.block(9, 3, 4, data, "h"))));
        var accepted = assertInstanceOf(BlockValidator.Accepted.class, outcome);
        assertEquals(java.util.List.of("g0"), accepted.groupKeys());
        TokenRows rows = accepted.rows();
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

    @Test
    void sendsABlockToEveryGroupOfItsHookAndWidth() {
        var validator = new BlockValidator(java.util.List.of(group("a", "h", 4, 8), group("b", "h", 4, 16),
                group("c", "other", 4, 8), group("d", null, 4, 8), group("e", "h", 6, 8)));
        var outcome = validator.check(TestBlocks.record(0, RecordCodec.ACTIVATION_BLOCK.encode(
                TestBlocks.block(1, 2, 4, TestBlocks.randomRows(1, 2, 4), "h"))));
        assertEquals(java.util.List.of("a", "b", "d"), assertInstanceOf(BlockValidator.Accepted.class, outcome).groupKeys(),
                "same hook (or any hook) and same width");
        var wrongWidth = validator.check(TestBlocks.record(1, RecordCodec.ACTIVATION_BLOCK.encode(
                TestBlocks.block(2, 2, 5, TestBlocks.randomRows(2, 2, 5), "h"))));
        assertTrue(assertInstanceOf(BlockValidator.Rejected.class, wrongWidth).reason().contains("expected 4 or 6"),
                wrongWidth.toString());
    }

    private void assertReason(InputRecord record, String expected) {
        String reason = assertInstanceOf(BlockValidator.Rejected.class, validator.check(record)).reason();
        assertTrue(reason.contains(expected), "'" + reason + "' should contain '" + expected + "'");
    }
}
