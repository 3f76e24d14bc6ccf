package org.saestream.records;

import org.junit.jupiter.api.Test;
import org.saestream.testing.SampleRecords;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Lengths and counts a record cannot hold are decode errors, found before Avro allocates for them. */
class CraftedLengthsTest {
    @Test
    void aTokenIdCountOfTwoBillionInANinetyByteRecordIsADecodeError() {
        byte[] crafted = CraftedRecords.activationBlockClaimingTokenIds(2_147_483_000L);
        assertTrue(crafted.length < 120, "a small record: " + crafted.length + " bytes");
        RecordDecodeException e = assertThrows(RecordDecodeException.class,
                () -> RecordCodec.ACTIVATION_BLOCK.decode(crafted));
        assertTrue(e.getMessage().contains("ActivationBlock.token_ids: 2147483000 items cannot fit"), e.getMessage());
    }

    @Test
    void everyLengthPrefixIsBoundedByTheRecord() {
        assertRejected(RecordCodec.ACTIVATION_BLOCK, CraftedRecords.activationBlockClaimingDataBytes(Integer.MAX_VALUE - 8),
                "ActivationBlock.data: length 2147483639");
        assertRejected(RecordCodec.ACTIVATION_BLOCK, CraftedRecords.activationBlockClaimingStringBytes(1L << 40),
                "ActivationBlock.hook_name: length 1099511627776");
        assertRejected(RecordCodec.ACTIVATION_BLOCK, CraftedRecords.activationBlockClaimingStringBytes(-5),
                "ActivationBlock.hook_name: length -5");
        assertRejected(RecordCodec.ACTIVATION_BLOCK, CraftedRecords.activationBlockClaimingTokenIds(-3),
                "ActivationBlock.token_ids");
        assertRejected(RecordCodec.GRADIENT_STEP, CraftedRecords.gradientStepClaimingSketchBytes("r", 1, 1 << 30),
                "GradientStep.sketch: length 1073741824");
        assertRejected(RecordCodec.GRADIENT_STEP, CraftedRecords.gradientStepClaimingStringBytes("r", 1, 1 << 30),
                "GradientStep.model_id: length 1073741824");
        assertRejected(RecordCodec.SAE_SNAPSHOT, CraftedRecords.snapshotChunkClaimingDataBytes("e", "s", 1 << 30),
                "SaeSnapshot.data: length 1073741824");
        assertRejected(RecordCodec.SAE_METRICS, CraftedRecords.saeMetricsClaimingStringBytes("e", 1 << 30),
                "SaeMetrics.sae_id: length 1073741824");
    }

    @Test
    void aLengthOneByteTooLongIsCaughtAndTheTrueOneDecodes() {
        // the marker field's true length is 9 bytes ("MARKxMARK"): 9 decodes, 10 runs past what follows
        byte[] exact = CraftedRecords.activationBlockClaimingStringBytes(9);
        assertEquals("MARKxMARK", RecordCodec.ACTIVATION_BLOCK.decode(exact).getHookName());
        byte[] longer = CraftedRecords.activationBlockClaimingStringBytes(10);
        assertThrows(RecordDecodeException.class, () -> RecordCodec.ACTIVATION_BLOCK.decode(longer));
    }

    @Test
    void trailingBytesAndUnknownFingerprintsAreRefused() {
        byte[] valid = RecordCodec.ACTIVATION_BLOCK.encode(SampleRecords.block("h", java.util.List.of(1), new float[2]));
        byte[] trailing = Arrays.copyOf(valid, valid.length + 3);
        assertRejected(RecordCodec.ACTIVATION_BLOCK, trailing, "3 bytes after the end of the record");
        byte[] foreign = valid.clone();
        foreign[5] ^= 0x40;
        assertRejected(RecordCodec.ACTIVATION_BLOCK, foreign, "is not of any known version of ActivationBlock");
        assertRejected(RecordCodec.ACTIVATION_BLOCK, new byte[] {(byte) 0xC3, 1, 2}, "do not start with Avro's single-object header");
    }

    private static void assertRejected(RecordCodec<?> codec, byte[] value, String expected) {
        RecordDecodeException e = assertThrows(RecordDecodeException.class, () -> codec.decode(value));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
