package org.saestream.records;

import org.junit.jupiter.api.Test;
import org.saestream.topics.TopicCatalog;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ActivationBlocksTest {
    private static final int WIDTH = 4096; // Llama-7B-wide residual stream

    @Test
    void aWindowTooLargeForOneRecordIsCutIntoConsecutiveBlocksOfTheSameTokens() {
        // 1100 tokens x 4096 x 4 bytes = 18 MB of activations: over the 16 MiB limit
        ActivationBlock block = block(1100, 7, false);
        List<ActivationBlock> parts = ActivationBlocks.fitted(block);
        assertEquals(2, parts.size());
        assertCoverExactly(block, parts);
    }

    @Test
    void gradientsCountTowardsTheRecordSize() {
        // 600 tokens: 9.8 MB of activations fit alone, 19.7 MB with their gradients do not
        assertEquals(1, ActivationBlocks.fitted(block(600, 3, false)).size());
        ActivationBlock withGradient = block(600, 3, true);
        List<ActivationBlock> parts = ActivationBlocks.fitted(withGradient);
        assertEquals(2, parts.size());
        assertCoverExactly(withGradient, parts);
    }

    @Test
    void aBlockThatFitsIsSentAsItIs() {
        ActivationBlock block = block(128, 0, true);
        assertSame(block, ActivationBlocks.fitted(block).get(0));
    }

    @Test
    void aTokenWiderThanARecordIsRefusedNamingTheHook() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ActivationBlocks.fitted(block(4, 0, false), 8 * 1024));
        assertTrue(e.getMessage().contains("hook blocks.20.hook_resid_post (width 4096, F32)"), e.getMessage());
    }

    /** Every part fits; together they hold the block's tokens, ids and bytes in order, at the same positions. */
    private static void assertCoverExactly(ActivationBlock block, List<ActivationBlock> parts) {
        long position = block.getFirstTokenPosition();
        List<Integer> ids = new ArrayList<>();
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        ByteArrayOutputStream gradient = new ByteArrayOutputStream();
        for (ActivationBlock part : parts) {
            int encoded = RecordCodec.ACTIVATION_BLOCK.encode(part).length;
            assertTrue(encoded <= TopicCatalog.MAX_RECORD_BYTES, encoded + " bytes");
            assertEquals(block.getDocumentId(), part.getDocumentId());
            assertEquals(block.getSequenceIndex(), part.getSequenceIndex());
            assertEquals(position, part.getFirstTokenPosition(), "parts follow each other");
            assertEquals(part.getTokenCount(), part.getTokenIds().size());
            position += part.getTokenCount();
            ids.addAll(part.getTokenIds());
            data.writeBytes(bytes(part.getData()));
            if (block.getGradient() != null) {
                gradient.writeBytes(bytes(part.getGradient()));
            }
        }
        assertEquals(block.getFirstTokenPosition() + block.getTokenCount(), position, "every token once");
        assertEquals(block.getTokenIds(), ids);
        assertArrayEquals(bytes(block.getData()), data.toByteArray());
        if (block.getGradient() != null) {
            assertArrayEquals(bytes(block.getGradient()), gradient.toByteArray());
        }
    }

    private static ActivationBlock block(int tokens, long firstPosition, boolean withGradient) {
        Random random = new Random(tokens);
        byte[] data = new byte[tokens * WIDTH * 4];
        random.nextBytes(data);
        byte[] gradient = new byte[data.length];
        random.nextBytes(gradient);
        List<Integer> ids = new ArrayList<>();
        for (int t = 0; t < tokens; t++) {
            ids.add(random.nextInt(50257));
        }
        return ActivationBlock.newBuilder().setRunId("run").setModelId("model").setHookName("blocks.20.hook_resid_post")
                .setShardId("shard-0").setDocumentId(11).setSequenceIndex(2).setFirstTokenPosition(firstPosition)
                .setTokenCount(tokens).setWidth(WIDTH).setDtype(TensorDtype.F32).setTokenIds(ids)
                .setData(ByteBuffer.wrap(data)).setGradient(withGradient ? ByteBuffer.wrap(gradient) : null)
                .setProducerId("p").setTimeMs(Instant.EPOCH).build();
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }
}
