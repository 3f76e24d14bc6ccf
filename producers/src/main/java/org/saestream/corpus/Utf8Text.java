package org.saestream.corpus;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * UTF-8 decoding that replaces what is not UTF-8 with U+FFFD and says how many it replaced. One per reader:
 * it reuses its decoder and buffer.
 */
final class Utf8Text {
    static final char REPLACEMENT = '\uFFFD';

    /** A decoded string and the number of U+FFFD put in for invalid input. */
    record Decoded(String text, int replaced) {
    }

    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    private CharBuffer out = CharBuffer.allocate(1024);

    Decoded decode(byte[] bytes, int offset, int length) {
        // UTF-8 never decodes to more chars than it has bytes (4 bytes -> 2 chars), and each replacement
        // stands for at least one byte, so `length` chars always suffice
        if (out.capacity() < length) {
            out = CharBuffer.allocate(Math.max(length, out.capacity() * 2));
        }
        out.clear();
        decoder.reset();
        ByteBuffer in = ByteBuffer.wrap(bytes, offset, length);
        int replaced = 0;
        while (true) {
            CoderResult r = decoder.decode(in, out, true);
            if (r.isError()) {
                // one U+FFFD per ill-formed sequence as the decoder delimits them (Python's errors="replace"
                // agrees but for encoded surrogates, which it replaces byte by byte)
                out.put(REPLACEMENT);
                replaced++;
                in.position(in.position() + r.length());
            } else if (r.isUnderflow()) {
                break;
            } else {
                throw new IllegalStateException("UTF-8 decoding overflowed a buffer of " + out.capacity()
                        + " chars for " + length + " bytes");
            }
        }
        decoder.flush(out);
        out.flip();
        return new Decoded(out.toString(), replaced);
    }

    /**
     * Replaces lone surrogates (which JSON escapes such as a lone high-surrogate escape can produce, and
     * which no UTF-8 encoder can write) with U+FFFD.
     */
    static Decoded replaceLoneSurrogates(String s) {
        int first = -1;
        for (int i = 0; i < s.length(); i++) {
            if (Character.isSurrogate(s.charAt(i))) {
                first = i;
                break;
            }
        }
        if (first < 0) {
            return new Decoded(s, 0);
        }
        StringBuilder b = new StringBuilder(s.length()).append(s, 0, first);
        int replaced = 0;
        for (int i = first; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                b.append(c).append(s.charAt(++i));
            } else if (Character.isSurrogate(c)) {
                b.append(REPLACEMENT);
                replaced++;
            } else {
                b.append(c);
            }
        }
        return new Decoded(b.toString(), replaced);
    }
}
