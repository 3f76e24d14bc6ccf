package org.saestream.jobs;

import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReplayRangeTest {
    @Test
    void readsTheFormsTheCommandLineTakes() {
        assertNotNull(ReplayRange.start(null, "t"));
        assertNotNull(ReplayRange.start("2026-11-23T10:15:30Z", "t"));
        assertTrue(ReplayRange.stop(null, "t").isEmpty(), "no --until: follow the topic");
        assertTrue(ReplayRange.stop("latest", "t").isPresent());
        assertEquals(Map.of(new TopicPartition("t", 0), 100L, new TopicPartition("t", 2), 7L),
                ReplayRange.offsets("0:100, 2:7", "t", "--from"));
    }

    @Test
    void rejectsWhatItCannotRead() {
        var e = assertThrows(IllegalArgumentException.class, () -> ReplayRange.start("yesterday", "t"));
        assertTrue(e.getMessage().contains("--from 'yesterday'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ReplayRange.stop("0:-5", "t"));
        assertTrue(e.getMessage().contains("'0:-5' is not partition:offset"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ReplayRange.stop("1:5,1:6", "t"));
        assertTrue(e.getMessage().contains("partition 1 is given twice"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ReplayRange.stop("earliest", "t"));
    }
}
