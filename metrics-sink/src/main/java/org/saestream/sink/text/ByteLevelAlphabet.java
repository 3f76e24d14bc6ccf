package org.saestream.sink.text;

import java.util.Arrays;

/**
 * GPT-2's {@code bytes_to_unicode} table, read backwards: byte-level BPE vocabularies (GPT-2, GPT-NeoX /
 * Pythia, Llama 3, ...) spell every byte as one printable character, so a token string maps back to its
 * bytes one character at a time. Printable Latin-1 bytes ({@code !..~}, {@code ¡..¬}, {@code ®..ÿ}) stand
 * for themselves; the other 68 bytes, in increasing order, are spelled U+0100, U+0101, ... (so the space
 * 0x20 is {@code Ġ} U+0120 and the newline 0x0A is {@code Ċ} U+010A).
 */
final class ByteLevelAlphabet {
    /** Code points up to U+0143 (256 + 68 - 1) are the only ones the table uses. */
    private static final int[] BYTE_OF = new int[256 + 68];

    static {
        Arrays.fill(BYTE_OF, -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_OF[printable ? b : next++] = b;
        }
    }

    private ByteLevelAlphabet() {
    }

    /** The byte that {@code codePoint} spells, or -1 where it is not a character of the table. */
    static int byteOf(int codePoint) {
        return codePoint >= 0 && codePoint < BYTE_OF.length ? BYTE_OF[codePoint] : -1;
    }
}
