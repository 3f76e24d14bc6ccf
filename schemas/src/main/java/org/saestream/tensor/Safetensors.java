package org.saestream.tensor;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The safetensors format read and written in Java: 8-byte little-endian header length, a JSON header
 * of {name: {dtype, shape, data_offsets}} plus optional string {@code __metadata__}, then raw data.
 * Written by hand because DJL's reader aborts the JVM on bfloat16 (STACK.md).
 */
public final class Safetensors {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER_BYTES = 100L << 20;

    /** Tensors in file order, and the string metadata. Data buffers may be memory-mapped. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {
        public Tensor require(String name, Path source) {
            Tensor t = tensors.get(name);
            if (t == null) {
                throw new IllegalArgumentException(source + ": missing tensor '" + name + "'");
            }
            return t;
        }
    }

    private Safetensors() {
    }

    public static Contents read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long fileSize = ch.size();
            if (fileSize < 8) {
                throw new IllegalArgumentException(file + ": too short for a safetensors file (" + fileSize + " bytes)");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || 8 + headerLen > fileSize) {
                throw new IllegalArgumentException(file + ": header length " + headerLen
                        + " does not fit a file of " + fileSize + " bytes (truncated or not safetensors)");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            readFully(ch, header, 8);
            long dataStart = 8 + headerLen;
            ByteBuffer data = ch.map(FileChannel.MapMode.READ_ONLY, dataStart, fileSize - dataStart);
            return parse(file.toString(), new String(header.array(), StandardCharsets.UTF_8), data);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read safetensors file", e);
        }
    }

    public static Contents read(byte[] bytes, String sourceName) {
        ByteBuffer all = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 8) {
            throw new IllegalArgumentException(sourceName + ": too short for safetensors");
        }
        long headerLen = all.getLong(0);
        if (headerLen <= 0 || 8 + headerLen > bytes.length) {
            throw new IllegalArgumentException(sourceName + ": header length " + headerLen + " does not fit "
                    + bytes.length + " bytes");
        }
        String header = new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8);
        ByteBuffer data = ByteBuffer.wrap(bytes, (int) (8 + headerLen), (int) (bytes.length - 8 - headerLen)).slice();
        return parse(sourceName, header, data);
    }

    private static Contents parse(String source, String headerJson, ByteBuffer data) {
        JsonNode root;
        try {
            root = JSON.readTree(headerJson.trim());
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(source + ": header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode node = e.getValue();
            if (name.equals("__metadata__")) {
                node.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            DType dtype;
            try {
                dtype = DType.fromSafetensorsName(node.path("dtype").asText());
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(source + ": tensor '" + name + "': " + ex.getMessage(), ex);
            }
            JsonNode shapeNode = node.path("shape");
            long[] shape = new long[shapeNode.size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeNode.get(i).asLong();
            }
            JsonNode offsets = node.path("data_offsets");
            long begin = offsets.path(0).asLong(-1);
            long end = offsets.path(1).asLong(-1);
            long expected = Tensor.elementCount(shape) * dtype.bytes();
            if (begin < 0 || end < begin || end - begin != expected) {
                throw new IllegalArgumentException(source + ": tensor '" + name + "' has data_offsets [" + begin + ", "
                        + end + "] but shape and dtype need " + expected + " bytes");
            }
            if (end > data.capacity()) {
                throw new IllegalArgumentException(source + ": tensor '" + name + "' ends at byte " + end
                        + " of the data section but the file holds only " + data.capacity() + " (truncated?)");
            }
            ByteBuffer slice = data.duplicate().limit((int) end).position((int) begin).slice();
            tensors.put(name, new Tensor(dtype, shape, slice));
        }
        return new Contents(tensors, metadata);
    }

    public static byte[] toBytes(Map<String, Tensor> tensors, Map<String, String> metadata) {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            ObjectNode node = header.putObject(e.getKey());
            node.put("dtype", t.dtype().safetensorsName());
            var shape = node.putArray("shape");
            for (long s : t.shape()) {
                shape.add(s);
            }
            long size = t.data().remaining();
            node.putArray("data_offsets").add(offset).add(offset + size);
            offset += size;
        }
        byte[] headerBytes;
        try {
            headerBytes = JSON.writeValueAsBytes(header);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        int padded = (headerBytes.length + 7) / 8 * 8; // data section starts 8-byte aligned
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) (8 + padded + offset));
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, padded);
        out.writeBytes(len.array());
        out.writeBytes(headerBytes);
        for (int i = headerBytes.length; i < padded; i++) {
            out.write(' ');
        }
        for (Tensor t : tensors.values()) {
            out.writeBytes(t.toBytes());
        }
        return out.toByteArray();
    }

    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Path tmp = Files.createTempFile(parent, file.getFileName().toString(), ".tmp");
            Files.write(tmp, toBytes(tensors, metadata));
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, position + buf.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }
}
