package org.saestream.files;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * A directory being written where readers cannot see it half done: files go into a hidden temporary sibling
 * ({@code .<name>.tmp-*}), then {@link #publish()} moves it into place in one rename, so a reader sees all files or
 * none. Publishing over an existing directory (the same snapshot or checkpoint again, after a restart) replaces it.
 * Closing without publishing deletes the temporary directory. The one way saestream publishes a directory: SAE
 * snapshots (the sink's and SaeLensFormat's) and language-model checkpoints.
 */
public final class StagedDirectory implements AutoCloseable {
    private final Path target;
    private final Path tmp;
    private final Map<String, Long> sizes = new LinkedHashMap<>();
    private FileChannel open;
    private String openName;
    private boolean published;

    private StagedDirectory(Path target, Path tmp) {
        this.target = target;
        this.tmp = tmp;
    }

    /** Starts writing the directory {@code target}; leftovers of an earlier crashed attempt are removed. */
    public static StagedDirectory create(Path target) throws IOException {
        Path dir = target.toAbsolutePath().normalize();
        Path parent = dir.getParent();
        Files.createDirectories(parent);
        String name = dir.getFileName().toString();
        try (DirectoryStream<Path> stale = Files.newDirectoryStream(parent, "." + name + ".{tmp,old}-*")) {
            for (Path p : stale) {
                deleteRecursively(p);
            }
        }
        return new StagedDirectory(dir, Files.createTempDirectory(parent, "." + name + ".tmp-"));
    }

    /** Where to write files directly (for writers that take a path); {@link #append} is the other way. */
    public Path staging() {
        return tmp;
    }

    /** Writes the file {@code name} whole. */
    public void write(String name, byte[] bytes) throws IOException {
        append(name, ByteBuffer.wrap(bytes));
        closeOpenFile();
    }

    /** Appends to the file {@code name}; files are written one after the other, never interleaved. */
    public void append(String name, ByteBuffer data) throws IOException {
        if (!name.equals(openName)) {
            closeOpenFile();
            if (sizes.containsKey(name)) {
                throw new IllegalStateException("file " + name + " was already finished");
            }
            open = FileChannel.open(tmp.resolve(name), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            openName = name;
            sizes.put(name, 0L);
        }
        long n = 0;
        while (data.hasRemaining()) {
            n += open.write(data);
        }
        sizes.merge(name, n, Long::sum);
    }

    /** Bytes written so far through {@link #append}, by file name, in the order the files were started. */
    public Map<String, Long> sizes() {
        return Map.copyOf(sizes);
    }

    public Path target() {
        return target;
    }

    /** Syncs the files and moves the directory into place, replacing an existing one. */
    public void publish() throws IOException {
        closeOpenFile();
        if (Files.exists(target)) {
            Path old = target.resolveSibling("." + target.getFileName() + ".old-" + UUID.randomUUID());
            Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            deleteRecursively(old);
        } else {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        }
        published = true;
    }

    /**
     * Syncs the files and moves the directory into place only where nothing is: {@code target} must not exist or be
     * an empty directory. Never replaces or deletes anything of the target's.
     *
     * @throws FileAlreadyExistsException when the target exists and is not an empty directory
     */
    public void publishNew() throws IOException {
        closeOpenFile();
        if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
            try {
                Files.delete(target); // only an empty directory can be deleted this way
            } catch (DirectoryNotEmptyException e) {
                throw new FileAlreadyExistsException(target.toString(), null, "exists and is not empty");
            }
        } else if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new FileAlreadyExistsException(target.toString(), null, "exists and is not a directory");
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        published = true;
    }

    private void closeOpenFile() throws IOException {
        if (open != null) {
            try (FileChannel c = open) {
                c.force(true);
            } finally {
                open = null;
                openName = null;
            }
        }
    }

    @Override
    public void close() {
        try {
            closeOpenFile();
            if (!published) {
                deleteRecursively(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot clean up " + tmp, e);
        }
    }

    /** Deletes a file, or a directory and everything in it (links are deleted, not followed). */
    public static void deleteRecursively(Path p) throws IOException {
        if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try (DirectoryStream<Path> children = Files.newDirectoryStream(p)) {
                for (Path c : children) {
                    deleteRecursively(c);
                }
            }
        }
        Files.deleteIfExists(p);
    }
}
