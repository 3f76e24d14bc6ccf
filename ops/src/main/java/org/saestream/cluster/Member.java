package org.saestream.cluster;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * One process of a local cluster: its name ({@code kafka-1}, {@code jobmanager}, {@code taskmanager-1}), what it
 * is, the command line that starts it (kept, so {@code cluster restart} starts it the same way), its log, and the
 * PID and start time (epoch milliseconds) it last ran under (0 before it first started).
 */
public record Member(String name, Role role, List<String> command, Path log, long pid, long startedMillis) {
    public enum Role { KAFKA, JOBMANAGER, TASKMANAGER }

    public Member started(ProcessHandle process) {
        return new Member(name, role, command, log, process.pid(),
                process.info().startInstant().map(Instant::toEpochMilli).orElse(0L));
    }

    /**
     * Alive and still the process this member started: a PID can be reused by another program, so the start time
     * must match too (the command line cannot tell: Linux shows only its first 4096 bytes).
     */
    public boolean alive() {
        return pid > 0 && ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                .map(p -> startedMillis == 0 || p.info().startInstant().map(t -> t.toEpochMilli() == startedMillis).orElse(true))
                .orElse(false);
    }
}
