package org.saestream.records;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificRecordBase;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Avro single-object encoding (magic, schema fingerprint, body) for one record type, so every Kafka
 * value says which schema wrote it without a registry. Encoders and decoders are thread-safe.
 */
public final class RecordCodec<T extends SpecificRecordBase> implements ValueCodec<T> {
    public static final RecordCodec<ActivationBlock> ACTIVATION_BLOCK =
            new RecordCodec<>(ActivationBlock.getClassSchema(), ActivationBlock.getEncoder(), ActivationBlock.getDecoder());
    public static final RecordCodec<SaeMetrics> SAE_METRICS =
            new RecordCodec<>(SaeMetrics.getClassSchema(), SaeMetrics.getEncoder(), SaeMetrics.getDecoder());
    public static final RecordCodec<SaeSnapshot> SAE_SNAPSHOT =
            new RecordCodec<>(SaeSnapshot.getClassSchema(), SaeSnapshot.getEncoder(), SaeSnapshot.getDecoder());
    public static final RecordCodec<ShardLedgerEntry> SHARD_LEDGER_ENTRY =
            new RecordCodec<>(ShardLedgerEntry.getClassSchema(), ShardLedgerEntry.getEncoder(), ShardLedgerEntry.getDecoder());
    public static final RecordCodec<DeadLetter> DEAD_LETTER =
            new RecordCodec<>(DeadLetter.getClassSchema(), DeadLetter.getEncoder(), DeadLetter.getDecoder());
    public static final RecordCodec<GradientStep> GRADIENT_STEP =
            new RecordCodec<>(GradientStep.getClassSchema(), GradientStep.getEncoder(), GradientStep.getDecoder());
    public static final RecordCodec<SaeEval> SAE_EVAL =
            new RecordCodec<>(SaeEval.getClassSchema(), SaeEval.getEncoder(), SaeEval.getDecoder());
    public static final RecordCodec<SpectrumMetrics> SPECTRUM_METRICS =
            new RecordCodec<>(SpectrumMetrics.getClassSchema(), SpectrumMetrics.getEncoder(), SpectrumMetrics.getDecoder());
    public static final RecordCodec<HessianSpectrum> HESSIAN_SPECTRUM =
            new RecordCodec<>(HessianSpectrum.getClassSchema(), HessianSpectrum.getEncoder(), HessianSpectrum.getDecoder());
    public static final RecordCodec<ProducerMetrics> PRODUCER_METRICS =
            new RecordCodec<>(ProducerMetrics.getClassSchema(), ProducerMetrics.getEncoder(), ProducerMetrics.getDecoder());
    public static final RecordCodec<SaeComparison> SAE_COMPARISON =
            new RecordCodec<>(SaeComparison.getClassSchema(), SaeComparison.getEncoder(), SaeComparison.getDecoder());
    public static final RecordCodec<FeatureExamples> FEATURE_EXAMPLES =
            new RecordCodec<>(FeatureExamples.getClassSchema(), FeatureExamples.getEncoder(), FeatureExamples.getDecoder());

    /** Earlier versions of a schema, kept as resources so records they wrote still decode (no registry). */
    private static final String HISTORY = "/org/saestream/records/history/";

    /** Single-object encoding: the marker C3 01, the writer schema's 8-byte fingerprint, then the body. */
    private static final int HEADER_BYTES = 10;

    private final String typeName;
    private final BinaryMessageEncoder<T> encoder;
    private final BinaryMessageDecoder<T> decoder;
    /** Every schema a record of this type may have been written with, by its fingerprint. */
    private final Map<Long, Schema> writers = new HashMap<>();

    private RecordCodec(Schema current, BinaryMessageEncoder<T> encoder, BinaryMessageDecoder<T> decoder) {
        this.typeName = current.getName();
        this.encoder = encoder;
        this.decoder = decoder;
        writers.put(SchemaNormalization.parsingFingerprint64(current), current);
        for (Schema old : history(typeName)) {
            decoder.addSchema(old);
            writers.put(SchemaNormalization.parsingFingerprint64(old), old);
        }
    }

    /** history/&lt;Type&gt;.1.avsc, .2.avsc, ... up to the first missing version. */
    static List<Schema> history(String typeName) {
        List<Schema> schemas = new ArrayList<>();
        for (int version = 1; ; version++) {
            try (InputStream in = RecordCodec.class.getResourceAsStream(HISTORY + typeName + "." + version + ".avsc")) {
                if (in == null) {
                    return schemas;
                }
                schemas.add(new Schema.Parser().parse(in));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read schema history of " + typeName + " version " + version, e);
            }
        }
    }

    @Override
    public byte[] encode(T record) {
        try {
            ByteBuffer buf = encoder.encode(record);
            byte[] out = new byte[buf.remaining()];
            buf.get(out);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + typeName, e);
        }
    }

    /**
     * Decodes one value; anything that is not a well-formed record of this type is a {@link RecordDecodeException}.
     * Every length and count in the value is checked against the value's own size before Avro allocates for it
     * ({@link EncodedLengths}), so a crafted value costs at most a few times its size in memory.
     */
    @Override
    public T decode(byte[] bytes) {
        if (bytes == null) {
            throw new RecordDecodeException(typeName + ": null value");
        }
        if (bytes.length < HEADER_BYTES || bytes[0] != (byte) 0xC3 || bytes[1] != (byte) 0x01) {
            throw new RecordDecodeException(typeName + ": cannot decode " + bytes.length
                    + " bytes: they do not start with Avro's single-object header (C3 01 + fingerprint)");
        }
        long fingerprint = ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        Schema writer = writers.get(fingerprint);
        if (writer == null) {
            throw new RecordDecodeException(typeName + ": cannot decode " + bytes.length + " bytes: schema fingerprint "
                    + Long.toHexString(fingerprint) + " is not of any known version of " + typeName);
        }
        try {
            EncodedLengths.check(writer, bytes, HEADER_BYTES);
        } catch (IllegalArgumentException e) {
            throw new RecordDecodeException(typeName + ": cannot decode " + bytes.length + " bytes: " + e.getMessage(), e);
        }
        try {
            return decoder.decode(bytes);
        } catch (IOException | RuntimeException e) {
            throw new RecordDecodeException(typeName + ": cannot decode " + bytes.length + " bytes: " + e, e);
        }
    }

    @Override
    public String typeName() {
        return typeName;
    }
}
