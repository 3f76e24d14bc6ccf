package org.saestream.e2e;

import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;

import java.io.IOException;
import java.nio.file.Path;

/** Parquet corpus shards for the producer tests, written with parquet-java's own writer (Snappy pages). */
final class ParquetShards {
    private ParquetShards() {
    }

    /** A shard with a nullable string column "text", one row per value (null: a null cell). */
    static void write(Path file, String... texts) throws IOException {
        MessageType schema = MessageTypeParser.parseMessageType("message doc { optional binary text (STRING); }");
        try (ParquetWriter<Group> writer = ExampleParquetWriter.builder(new LocalOutputFile(file))
                .withConf(new PlainParquetConfiguration()).withType(schema)
                .withCompressionCodec(CompressionCodecName.SNAPPY).build()) {
            for (String text : texts) {
                Group row = new SimpleGroupFactory(schema).newGroup();
                writer.write(text == null ? row : row.append("text", text));
            }
        }
    }
}
