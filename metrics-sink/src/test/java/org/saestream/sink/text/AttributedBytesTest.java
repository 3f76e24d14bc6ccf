package org.saestream.sink.text;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The attributing UTF-8 decoder against a plain reference written from the Unicode standard's definition
 * (chapter 3.9: one U+FFFD per maximal subpart of an ill-formed sequence, as Rust's from_utf8_lossy does;
 * the JDK's decoder differs on encoded surrogates, so it is the reference for well-formed input only).
 */
class AttributedBytesTest {
    @Test
    void decodesRandomBytesAsTheReferenceDoes() {
        Random random = new Random(11);
        for (int trial = 0; trial < 50_000; trial++) {
            byte[] bytes = new byte[random.nextInt(12)];
            for (int i = 0; i < bytes.length; i++) {
                // mostly the bytes that make multi-byte sequences, so that both valid and broken ones occur
                bytes[i] = (byte) (random.nextInt(4) == 0 ? random.nextInt(256) : 0x80 + random.nextInt(0x78));
            }
            AttributedBytes attributed = attributed(bytes);
            String expected = reference(bytes);
            AttributedText text = attributed.decode(0);
            assertEquals(expected, text.text(), () -> "bytes " + hex(bytes));
            assertEquals(expected.indexOf('\uFFFD') < 0, attributed.isWellFormed(), () -> "bytes " + hex(bytes));
            for (int i = 1; i < text.length(); i++) {
                assertTrue(text.owner(i - 1) <= text.owner(i), "owners never decrease");
            }
        }
    }

    @Test
    void decodesWellFormedTextAsTheJdkDoes() {
        Random random = new Random(12);
        for (int trial = 0; trial < 5_000; trial++) {
            StringBuilder s = new StringBuilder();
            for (int n = random.nextInt(8); n > 0; n--) {
                int c = random.nextInt(0x110000);
                s.appendCodePoint(c >= 0xD800 && c <= 0xDFFF ? 'x' : c);
            }
            byte[] bytes = s.toString().getBytes(StandardCharsets.UTF_8);
            assertEquals(s.toString(), attributed(bytes).decode(0).text());
            assertTrue(attributed(bytes).isWellFormed());
        }
    }

    @Test
    void unicodeTable3_8Examples() {
        // "Table 3-8. Use of U+FFFD in UTF-8 Conversion": 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64
        byte[] bytes = {0x61, (byte) 0xF1, (byte) 0x80, (byte) 0x80, (byte) 0xE1, (byte) 0x80, (byte) 0xC2,
            0x62, (byte) 0x80, 0x63, (byte) 0x80, (byte) 0xBF, 0x64};
        assertEquals("a\uFFFD\uFFFD\uFFFDb\uFFFDc\uFFFD\uFFFDd", attributed(bytes).decode(0).text());
        // an encoded surrogate: each byte is its own subpart
        byte[] surrogate = {(byte) 0xED, (byte) 0xA0, (byte) 0x80};
        assertEquals("\uFFFD\uFFFD\uFFFD", attributed(surrogate).decode(0).text());
    }

    @Test
    void eachCharacterBelongsToItsLastByte() {
        AttributedBytes bytes = new AttributedBytes();
        bytes.addUtf8('a', 0);
        byte[] rocket = "\uD83D\uDE80".getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < rocket.length; i++) {
            bytes.add(rocket[i] & 0xFF, 1 + i);
        }
        AttributedText text = bytes.decode(0);
        assertEquals("a\uD83D\uDE80", text.text());
        assertEquals(0, text.owner(0));
        assertEquals(4, text.owner(1));
        assertEquals(4, text.owner(2));
    }

    /** Byte i owned by position i. */
    private static AttributedBytes attributed(byte[] bytes) {
        AttributedBytes attributed = new AttributedBytes();
        for (int i = 0; i < bytes.length; i++) {
            attributed.add(bytes[i] & 0xFF, i);
        }
        return attributed;
    }

    /**
     * Unicode 3.9, Table 3-7 (well-formed byte sequences) read directly: at each position take the
     * longest prefix of a well-formed sequence; a whole one is a character, a partial one (or a byte
     * that starts none) is one U+FFFD.
     */
    private static String reference(byte[] b) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < b.length) {
            int lead = b[i] & 0xFF;
            int length = lead < 0x80 ? 1 : lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3
                    : lead >= 0xF0 && lead <= 0xF4 ? 4 : 0;
            if (length == 0) {
                out.append('\uFFFD');
                i++;
                continue;
            }
            int k = 1;
            while (k < length && i + k < b.length && continues(lead, k, b[i + k] & 0xFF)) {
                k++;
            }
            if (k == length) {
                out.append(new String(b, i, length, StandardCharsets.UTF_8));
            } else {
                out.append('\uFFFD');
            }
            i += k;
        }
        return out.toString();
    }

    /** Whether {@code c} may be byte {@code k} (k >= 1) of a sequence starting with {@code lead} (Table 3-7). */
    private static boolean continues(int lead, int k, int c) {
        if (k == 1) {
            switch (lead) {
                case 0xE0: return c >= 0xA0 && c <= 0xBF;
                case 0xED: return c >= 0x80 && c <= 0x9F;
                case 0xF0: return c >= 0x90 && c <= 0xBF;
                case 0xF4: return c >= 0x80 && c <= 0x8F;
                default: return c >= 0x80 && c <= 0xBF;
            }
        }
        return c >= 0x80 && c <= 0xBF;
    }

    private static String hex(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        for (byte b : bytes) {
            sb.append(String.format("%02X ", b & 0xFF));
        }
        return sb.toString();
    }
}
