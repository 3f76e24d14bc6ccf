package org.saestream.records;

import org.apache.avro.Schema;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificRecordBase;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Avro single-object encoding (magic, schema fingerprint, body) for one record type, so every Kafka
 * value says which schema wrote it without a registry. Encoders and decoders are thread-safe.
 */
public final class RecordCodec<T extends SpecificRecordBase> {
    public static final RecordCodec<ActivationBlock> ACTIVATION_BLOCK =
            new RecordCodec<>("ActivationBlock", ActivationBlock.getEncoder(), ActivationBlock.getDecoder());
    public static final RecordCodec<SaeMetrics> SAE_METRICS =
            new RecordCodec<>("SaeMetrics", SaeMetrics.getEncoder(), SaeMetrics.getDecoder());
    public static final RecordCodec<SaeSnapshot> SAE_SNAPSHOT =
            new RecordCodec<>("SaeSnapshot", SaeSnapshot.getEncoder(), SaeSnapshot.getDecoder());
    public static final RecordCodec<ShardLedgerEntry> SHARD_LEDGER_ENTRY =
            new RecordCodec<>("ShardLedgerEntry", ShardLedgerEntry.getEncoder(), ShardLedgerEntry.getDecoder());
    public static final RecordCodec<DeadLetter> DEAD_LETTER =
            new RecordCodec<>("DeadLetter", DeadLetter.getEncoder(), DeadLetter.getDecoder());
    public static final RecordCodec<GradientStep> GRADIENT_STEP =
            new RecordCodec<>("GradientStep", GradientStep.getEncoder(), GradientStep.getDecoder());
    public static final RecordCodec<SpectrumMetrics> SPECTRUM_METRICS =
            new RecordCodec<>("SpectrumMetrics", SpectrumMetrics.getEncoder(), SpectrumMetrics.getDecoder());
    public static final RecordCodec<ProducerMetrics> PRODUCER_METRICS =
            new RecordCodec<>("ProducerMetrics", ProducerMetrics.getEncoder(), ProducerMetrics.getDecoder());
    public static final RecordCodec<SaeComparison> SAE_COMPARISON =
            new RecordCodec<>("SaeComparison", SaeComparison.getEncoder(), SaeComparison.getDecoder());
    public static final RecordCodec<FeatureExamples> FEATURE_EXAMPLES =
            new RecordCodec<>("FeatureExamples", FeatureExamples.getEncoder(), FeatureExamples.getDecoder());

    /** Earlier versions of a schema, kept as resources so records they wrote still decode (no registry). */
    private static final String HISTORY = "/org/saestream/records/history/";

    private final String typeName;
    private final BinaryMessageEncoder<T> encoder;
    private final BinaryMessageDecoder<T> decoder;

    private RecordCodec(String typeName, BinaryMessageEncoder<T> encoder, BinaryMessageDecoder<T> decoder) {
        this.typeName = typeName;
        this.encoder = encoder;
        this.decoder = decoder;
        for (Schema old : history(typeName)) {
            decoder.addSchema(old);
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

    /** Decodes one value; anything that is not a well-formed record of this type is a {@link RecordDecodeException}. */
    public T decode(byte[] bytes) {
        if (bytes == null) {
            throw new RecordDecodeException(typeName + ": null value");
        }
        try {
            return decoder.decode(bytes);
        } catch (IOException | RuntimeException e) {
            throw new RecordDecodeException(typeName + ": cannot decode " + bytes.length + " bytes: " + e, e);
        }
    }

    public String typeName() {
        return typeName;
    }
}
