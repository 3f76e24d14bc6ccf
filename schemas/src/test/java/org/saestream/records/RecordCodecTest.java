package org.saestream.records;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.junit.jupiter.api.Test;
import org.saestream.tensor.DType;
import org.saestream.tensor.TensorCodec;

import java.nio.ByteBuffer;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RecordCodecTest {

    static ActivationBlock block() {
        float[] data = {1f, -2f, 3.5f, Float.MIN_VALUE, 0f, 7f};
        return ActivationBlock.newBuilder()
                .setRunId("run-1").setModelId("pythia-70m").setHookName("blocks.3.hook_resid_post")
                .setShardId("shard-0").setDocumentId(12).setSequenceIndex(2).setFirstTokenPosition(256)
                .setTokenCount(2).setWidth(3).setDtype(TensorDtype.BF16).setTokenIds(List.of(5, 9))
                .setData(ByteBuffer.wrap(TensorCodec.encode(data, DType.BF16)))
                .setProducerId("p0").setTimeMs(java.time.Instant.ofEpochMilli(1_700_000_000_000L))
                .build();
    }

    @Test
    void activationBlockRoundTrips() {
        ActivationBlock original = block();
        byte[] bytes = RecordCodec.ACTIVATION_BLOCK.encode(original);
        assertEquals((byte) 0xC3, bytes[0], "single-object encoding starts with its magic");
        assertEquals((byte) 0x01, bytes[1]);
        ActivationBlock back = RecordCodec.ACTIVATION_BLOCK.decode(bytes);
        assertEquals(original, back);
        assertNull(back.getGradient());
        assertArrayEquals(TensorCodec.decode(original.getData(), DType.BF16), TensorCodec.decode(back.getData(), DType.BF16));
    }

    @Test
    void garbageAndForeignRecordsAreDecodeErrors() {
        RecordDecodeException garbage = assertThrows(RecordDecodeException.class,
                () -> RecordCodec.ACTIVATION_BLOCK.decode(new byte[] {1, 2, 3, 4}));
        assertTrue(garbage.getMessage().contains("ActivationBlock"), garbage.getMessage());
        byte[] ledger = RecordCodec.SHARD_LEDGER_ENTRY.encode(ShardLedgerEntry.newBuilder()
                .setRunId("r").setShardId("s").setUri("file:/x").setStatus(ShardStatus.DONE)
                .setDocumentsDone(1).setWindowsDone(1).setTokensDone(1).setChecksum("c").setProducerId("p")
                .setTimeMs(java.time.Instant.EPOCH).build());
        assertThrows(RecordDecodeException.class, () -> RecordCodec.ACTIVATION_BLOCK.decode(ledger),
                "a record of another schema is rejected by its fingerprint");
        byte[] cut = RecordCodec.ACTIVATION_BLOCK.encode(block());
        assertThrows(RecordDecodeException.class,
                () -> RecordCodec.ACTIVATION_BLOCK.decode(java.util.Arrays.copyOf(cut, cut.length / 2)));
    }

    @Test
    void recordWrittenWithTheCurrentSchemaDecodesAfterAFieldWithDefaultIsAdded() throws Exception {
        byte[] written = RecordCodec.ACTIVATION_BLOCK.encode(block());

        String evolvedJson = ActivationBlock.getClassSchema().toString().replaceFirst(
                "\\{\"name\":\"producer_id\"",
                "{\"name\":\"layer_norm_scale\",\"type\":\"double\",\"default\":1.5},{\"name\":\"producer_id\"");
        Schema evolved = new Schema.Parser().parse(evolvedJson);
        assertNotEquals(SchemaNormalization.parsingFingerprint64(ActivationBlock.getClassSchema()),
                SchemaNormalization.parsingFingerprint64(evolved), "the evolved schema really differs");

        BinaryMessageDecoder<GenericRecord> decoder = new BinaryMessageDecoder<>(GenericData.get(), evolved);
        decoder.addSchema(ActivationBlock.getClassSchema()); // the writer schema, as a registry would supply it
        GenericRecord read = decoder.decode(written);
        assertEquals(1.5, read.get("layer_norm_scale"));
        assertEquals("blocks.3.hook_resid_post", read.get("hook_name").toString());
        assertEquals(2, read.get("token_count"));
    }

    @Test
    void metricsWrittenWithEarlierSaeMetricsSchemasStillDecode() throws Exception {
        java.util.List<Schema> history = RecordCodec.history("SaeMetrics");
        assertEquals(2, history.size(), "versions 1 and 2 of SaeMetrics are kept as resources");
        for (int version = 1; version <= history.size(); version++) {
            Schema schema = history.get(version - 1);
            GenericRecord old = new GenericData.Record(schema);
            for (Schema.Field f : schema.getFields()) {
                Schema type = f.schema();
                switch (type.getType()) {
                    case STRING -> old.put(f.name(), "x-" + f.name());
                    case INT -> old.put(f.name(), 7);
                    case LONG -> old.put(f.name(), 11L);
                    case DOUBLE -> old.put(f.name(), 0.25);
                    case BOOLEAN -> old.put(f.name(), false);
                    case ARRAY -> old.put(f.name(), new GenericData.Array<>(0, type));
                    case UNION -> old.put(f.name(), null);
                    default -> throw new AssertionError("unexpected field type in v" + version + ": " + f);
                }
            }
            byte[] written = new org.apache.avro.message.BinaryMessageEncoder<GenericRecord>(GenericData.get(), schema)
                    .encode(old).array();

            SaeMetrics read = RecordCodec.SAE_METRICS.decode(written);
            assertEquals("x-sae_id", read.getSaeId(), "v" + version);
            assertEquals(11L, read.getTokensSeen(), "v" + version);
            assertEquals(0.25, read.getMse(), "v" + version);
            assertEquals(version == 1 ? 1.0 : 0.25, read.getActivationScale(), "v1 lacks it: the default");
            assertEquals(null, read.getSelfSimilarityMean(), "v" + version);
            assertEquals(0, read.getSelfSimilarityHistogram().size(), "v" + version);
            assertEquals("", read.getHookNameOut().toString(), "v" + version + " knows no transcoders: an SAE");
            assertEquals(0, read.getHalvesDropped(), "v" + version);
        }
    }

    @Test
    void spectraWrittenWithEarlierSpectrumMetricsSchemasStillDecode() throws Exception {
        java.util.List<Schema> history = RecordCodec.history("SpectrumMetrics");
        assertEquals(2, history.size(), "versions 1 and 2 of SpectrumMetrics are kept as resources");
        for (int version = 1; version <= history.size(); version++) {
            Schema old = history.get(version - 1);
            GenericRecord record = new GenericData.Record(old);
            for (Schema.Field f : old.getFields()) {
                Schema type = f.schema();
                switch (type.getType()) {
                    case STRING -> record.put(f.name(), "run-1");
                    case INT -> record.put(f.name(), 3);
                    case LONG -> record.put(f.name(), 40L);
                    case DOUBLE -> record.put(f.name(), 0.5);
                    case ARRAY -> record.put(f.name(), new GenericData.Array<>(0, type));
                    case UNION -> record.put(f.name(), null);
                    default -> throw new AssertionError("unexpected field type in v" + version + ": " + f);
                }
            }
            byte[] written = new org.apache.avro.message.BinaryMessageEncoder<GenericRecord>(GenericData.get(), old)
                    .encode(record).array();

            SpectrumMetrics read = RecordCodec.SPECTRUM_METRICS.decode(written);
            assertEquals("run-1", read.getRunId(), "v" + version);
            assertEquals(40L, read.getStepsSeen(), "v" + version);
            assertEquals(version == 1 ? 0L : 40L, read.getRecordsRejected(), "v1 lacks records_rejected: its default");
            assertEquals(0, read.getWindowSteps(), "v" + version + " has no windows: the default");
            assertEquals(0, read.getLateCenteredEffectiveRank(), "v" + version);
        }
    }

    @Test
    void blocksWrittenWithTheFirstActivationBlockSchemaStillDecode() throws Exception {
        java.util.List<Schema> history = RecordCodec.history("ActivationBlock");
        assertEquals(1, history.size(), "version 1 of ActivationBlock is kept as a resource");
        Schema v1 = history.get(0);
        ActivationBlock current = org.saestream.testing.SampleRecords.block("blocks.0.hook_resid_post",
                java.util.List.of(5, 6), new float[] {1f, 2f, 3f, 4f});
        GenericRecord old = new GenericData.Record(v1);
        for (Schema.Field f : v1.getFields()) {
            Object value = current.get(f.name());
            if (value instanceof Enum<?> e) {
                value = new GenericData.EnumSymbol(f.schema(), e.name());
            } else if (value instanceof java.time.Instant t) {
                value = t.toEpochMilli();
            }
            old.put(f.name(), value);
        }
        byte[] written = new org.apache.avro.message.BinaryMessageEncoder<GenericRecord>(GenericData.get(), v1)
                .encode(old).array();

        ActivationBlock read = RecordCodec.ACTIVATION_BLOCK.decode(written);
        assertEquals(current.getTokenIds(), read.getTokenIds());
        assertEquals(current.getData(), read.getData());
        assertEquals(0, read.getContextSize(), "the new fields take their defaults");
        assertEquals(false, read.getPrependBos());
        assertEquals("", read.getDatasetPath().toString());
    }
}
