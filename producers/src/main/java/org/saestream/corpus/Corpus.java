package org.saestream.corpus;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds the shards of a corpus.
 *
 * <p>A directory is walked recursively. A file is a shard if its name ends in {@code .txt}, {@code .jsonl} (each
 * also with {@code .gz} or {@code .zst}) or {@code .parquet} (any case; see {@link ShardFormat}); everything else
 * is ignored
 * without a word: other endings ({@code .json}, {@code .gz} alone, {@code .md}, {@code .part},
 * {@code .tmp}, editor backups such as {@code x.txt~}), and hidden files and directories (any path
 * element below the root whose name starts with '.', e.g. {@code .git/}, {@code .DS_Store},
 * {@code .x.jsonl.gz.swp}). Writers that drop shards into a watched directory should write under a
 * hidden or non-shard name and rename when done, so a half-written file is never listed. Symbolic links
 * to files are followed; links to directories are not walked.
 *
 * <p>A shard's id is its path relative to the directory given, with '/' separators; a file given on its
 * own is named by its file name. Lists are sorted by shard id (String order), so the same tree always
 * lists the same way.
 */
public final class Corpus {

    private Corpus() {
    }

    /**
     * The shards under a directory, or the one shard a file is.
     *
     * @throws NoSuchFileException      if the path does not exist (the message names it)
     * @throws IllegalArgumentException if a file given directly has none of the shard endings
     */
    public static List<CorpusShard> list(Path dirOrFile) throws IOException {
        return list(List.of(dirOrFile));
    }

    /**
     * The shards under each path (directories walked, files taken as they are), in one list sorted by
     * shard id.
     *
     * @throws NoSuchFileException      if a path does not exist (the message names it)
     * @throws IllegalArgumentException if a file given directly has none of the shard endings, or two
     *                                  shards end up with the same id (the message names both files)
     */
    public static List<CorpusShard> list(List<Path> paths) throws IOException {
        Map<String, CorpusShard> byId = new HashMap<>();
        for (Path p : paths) {
            for (CorpusShard shard : listOne(p)) {
                CorpusShard clash = byId.putIfAbsent(shard.shardId(), shard);
                if (clash != null) {
                    throw new IllegalArgumentException("two shards would have the id '" + shard.shardId() + "': "
                            + clash.path() + " and " + shard.path() + "; give their common parent directory instead");
                }
            }
        }
        List<CorpusShard> out = new ArrayList<>(byId.values());
        out.sort(Comparator.comparing(CorpusShard::shardId));
        return out;
    }

    private static List<CorpusShard> listOne(Path root) throws IOException {
        if (!Files.exists(root)) {
            throw new NoSuchFileException(root.toString(), null, "corpus path does not exist");
        }
        if (!Files.isDirectory(root)) {
            return List.of(CorpusShard.of(root.getFileName().toString(), root));
        }
        List<CorpusShard> shards = new ArrayList<>();
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                return !dir.equals(root) && hidden(dir) ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                String name = file.getFileName().toString();
                if (!hidden(file) && ShardFormat.ofFileName(name).isPresent() && Files.isRegularFile(file)) {
                    shards.add(CorpusShard.of(shardId(root, file), file));
                }
                return FileVisitResult.CONTINUE;
            }
        });
        return shards;
    }

    private static boolean hidden(Path p) {
        return p.getFileName().toString().startsWith(".");
    }

    private static String shardId(Path root, Path file) {
        Path rel = root.relativize(file);
        StringBuilder id = new StringBuilder();
        for (Path part : rel) {
            if (id.length() > 0) {
                id.append('/');
            }
            id.append(part);
        }
        return id.toString();
    }
}
