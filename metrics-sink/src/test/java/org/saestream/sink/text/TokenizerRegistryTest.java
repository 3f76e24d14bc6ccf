package org.saestream.sink.text;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenizerRegistryTest {
    @TempDir
    Path dir;

    @Test
    void modelIdsMatchTheModelDirectoryName() {
        Path pythia = modelDir("pythia-14m", true);
        Path tinyFile = modelDir("pd-en-tiny", false).resolve("tokenizer.json"); // a file: its directory names it
        TokenizerRegistry registry = new TokenizerRegistry(List.of(pythia, tinyFile));
        assertEquals(List.of("pythia-14m", "pd-en-tiny"), registry.modelNames());

        TokenDecoder p = registry.forModel("pythia-14m").orElseThrow();
        assertEquals("Hi", p.decode(new int[] {1, 2}));
        assertEquals("Hello world", registry.forModel("pd-en-tiny").orElseThrow().decode(new int[] {8, 9}));
        assertSame(p, registry.forModel(pythia.toString()).orElseThrow(), "a full path ending in the name");
        assertSame(p, registry.forModel("/elsewhere/models/pythia-14m/").orElseThrow());
        assertSame(p, registry.forModel("EleutherAI/pythia-14m").orElseThrow(), "a Hub id");
    }

    @Test
    void withSeveralTokenizersAnUnknownModelHasNone() {
        TokenizerRegistry registry = new TokenizerRegistry(
                List.of(modelDir("pythia-14m", true), modelDir("pd-en-tiny", false)));
        assertEquals(Optional.empty(), registry.forModel("pythia-70m"));
        assertEquals(Optional.empty(), registry.forModel("pythia-14m-deduped"));
        assertEquals(Optional.empty(), registry.forModel(null));
    }

    @Test
    void aSingleTokenizerServesEveryModel() {
        TokenizerRegistry registry = new TokenizerRegistry(List.of(modelDir("pd-en-tiny", false)));
        TokenDecoder only = registry.forModel("pd-en-tiny").orElseThrow();
        assertSame(only, registry.forModel("pythia-14m").orElseThrow());
        assertSame(only, registry.forModel(null).orElseThrow());
        assertEquals(Optional.empty(), new TokenizerRegistry(List.of()).forModel("pythia-14m"));
    }

    @Test
    void failuresNameThePath() {
        Path missing = dir.resolve("gone/pythia-14m");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new TokenizerRegistry(List.of(modelDir("pd-en-tiny", false), missing)));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());

        Path a = modelDir("pythia-14m", true);
        Path b = TinyTokenizers.write(TinyTokenizers.byteLevel(), dir.resolve("copy/pythia-14m/tokenizer.json"));
        IllegalArgumentException dup = assertThrows(IllegalArgumentException.class,
                () -> new TokenizerRegistry(List.of(a, b)));
        assertTrue(dup.getMessage().contains(a + " and " + b), dup.getMessage());
        assertTrue(dup.getMessage().contains("'pythia-14m'"), dup.getMessage());
    }

    private Path modelDir(String name, boolean byteLevel) {
        Path model = dir.resolve(name);
        TinyTokenizers.write(byteLevel ? TinyTokenizers.byteLevel() : TinyTokenizers.llama(),
                model.resolve("tokenizer.json"));
        return model;
    }
}
