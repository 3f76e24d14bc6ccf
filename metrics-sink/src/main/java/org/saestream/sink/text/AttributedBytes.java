package org.saestream.sink.text;

import java.util.Arrays;

/**
 * Bytes, each with the position of the token it came from, decoded as UTF-8 so that every character
 * goes to the token of its last byte: a character whose bytes straddle tokens belongs to the token
 * that completes it. Malformed input becomes U+FFFD, one per maximal ill-formed subpart (the Unicode
 * "best practice", as Rust's {@code String::from_utf8_lossy} and the WHATWG decoder do it).
 */
final class AttributedBytes {
    static final int REPLACEMENT = 0xFFFD;

    private byte[] bytes = new byte[64];
    private int[] owners = new int[64];
    private int size;

    void add(int b, int owner) {
        if (size == bytes.length) {
            bytes = Arrays.copyOf(bytes, size * 2);
            owners = Arrays.copyOf(owners, size * 2);
        }
        bytes[size] = (byte) b;
        owners[size] = owner;
        size++;
    }

    /** Adds the UTF-8 encoding of {@code codePoint}, all of it owned by {@code owner}. */
    void addUtf8(int codePoint, int owner) {
        if (codePoint < 0x80) {
            add(codePoint, owner);
        } else if (codePoint < 0x800) {
            add(0xC0 | codePoint >> 6, owner);
            add(0x80 | codePoint & 0x3F, owner);
        } else if (codePoint < 0x10000) {
            add(0xE0 | codePoint >> 12, owner);
            add(0x80 | codePoint >> 6 & 0x3F, owner);
            add(0x80 | codePoint & 0x3F, owner);
        } else {
            add(0xF0 | codePoint >> 18, owner);
            add(0x80 | codePoint >> 12 & 0x3F, owner);
            add(0x80 | codePoint >> 6 & 0x3F, owner);
            add(0x80 | codePoint & 0x3F, owner);
        }
    }

    int size() {
        return size;
    }

    int owner(int index) {
        return owners[index];
    }

    boolean isEmpty() {
        return size == 0;
    }

    void clear() {
        size = 0;
    }

    /** The bytes as UTF-8, malformed parts replaced; {@code anchor} owns text inserted into nothing. */
    AttributedText decode(int anchor) {
        AttributedText.Builder out = new AttributedText.Builder(anchor);
        decodeInto(out);
        return out.build();
    }

    /** Whether the bytes are well-formed UTF-8 (and so decode without any U+FFFD of their own making). */
    boolean isWellFormed() {
        return decodeInto(null) == 0;
    }

    /** Decodes into {@code out} (when not null); returns the number of malformed subparts. */
    private int decodeInto(AttributedText.Builder out) {
        int malformed = 0;
        int needed = 0;
        int seen = 0;
        int codePoint = 0;
        int lower = 0x80;
        int upper = 0xBF;
        for (int i = 0; i < size; i++) {
            int b = bytes[i] & 0xFF;
            if (needed == 0) {
                if (b <= 0x7F) {
                    emit(out, b, owners[i]);
                } else if (b >= 0xC2 && b <= 0xDF) {
                    needed = 1;
                    codePoint = b & 0x1F;
                } else if (b >= 0xE0 && b <= 0xEF) {
                    lower = b == 0xE0 ? 0xA0 : 0x80; // no overlong 3-byte forms
                    upper = b == 0xED ? 0x9F : 0xBF; // no surrogates
                    needed = 2;
                    codePoint = b & 0x0F;
                } else if (b >= 0xF0 && b <= 0xF4) {
                    lower = b == 0xF0 ? 0x90 : 0x80; // no overlong 4-byte forms
                    upper = b == 0xF4 ? 0x8F : 0xBF; // nothing above U+10FFFF
                    needed = 3;
                    codePoint = b & 0x07;
                } else {
                    malformed++;
                    emit(out, REPLACEMENT, owners[i]);
                }
                continue;
            }
            if (b < lower || b > upper) {
                // the sequence so far is one maximal ill-formed subpart; this byte starts afresh
                malformed++;
                emit(out, REPLACEMENT, owners[i - 1]);
                needed = 0;
                seen = 0;
                lower = 0x80;
                upper = 0xBF;
                i--;
                continue;
            }
            lower = 0x80;
            upper = 0xBF;
            codePoint = codePoint << 6 | b & 0x3F;
            if (++seen == needed) {
                emit(out, codePoint, owners[i]);
                needed = 0;
                seen = 0;
            }
        }
        if (needed != 0) {
            malformed++;
            emit(out, REPLACEMENT, owners[size - 1]);
        }
        return malformed;
    }

    private static void emit(AttributedText.Builder out, int codePoint, int owner) {
        if (out != null) {
            out.appendCodePoint(codePoint, owner);
        }
    }
}
