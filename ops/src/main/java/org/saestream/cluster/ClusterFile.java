package org.saestream.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code <workdir>/cluster.json}: what {@code cluster up} started (addresses and members with their PIDs), read by
 * status, down and restart, which act on exactly those processes.
 */
public record ClusterFile(String bootstrap, String flinkRest, List<Member> members) {
    public static final String NAME = "cluster.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public static ClusterFile read(Path workdir) {
        Path file = workdir.resolve(NAME);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no cluster in " + workdir + " (no " + NAME + "; start one with "
                    + "saestream cluster up --workdir " + workdir + ")");
        }
        try {
            return JSON.readValue(file.toFile(), ClusterFile.class);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": not a cluster file saestream wrote: " + e.getMessage(), e);
        }
    }

    public void write(Path workdir) {
        Path file = workdir.resolve(NAME);
        Path partial = workdir.resolve(NAME + ".partial");
        try {
            JSON.writeValue(partial.toFile(), this);
            Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    public Member member(String name) {
        return members.stream().filter(m -> m.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no member '" + name + "' in this cluster; its members: "
                        + members.stream().map(Member::name).toList()));
    }

    public ClusterFile with(Member replaced) {
        List<Member> next = new ArrayList<>();
        for (Member m : members) {
            next.add(m.name().equals(replaced.name()) ? replaced : m);
        }
        return new ClusterFile(bootstrap, flinkRest, next);
    }
}
