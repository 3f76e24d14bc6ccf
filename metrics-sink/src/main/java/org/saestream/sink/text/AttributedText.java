package org.saestream.sink.text;

import java.util.Arrays;

/**
 * Text whose every UTF-16 unit remembers the position (in the id sequence being decoded) of the token
 * it came from. The decoding steps pass these along instead of plain strings, so that after the whole
 * chain each character of the output can be handed back to one token. Owners never decrease along a
 * text: every step keeps the order of what it does not drop.
 */
final class AttributedText {
    private final String text;
    private final int[] owners;
    /** The owner of text inserted into an empty text (a replacement matching the empty string). */
    private final int anchor;

    private AttributedText(String text, int[] owners, int anchor) {
        this.text = text;
        this.owners = owners;
        this.anchor = anchor;
    }

    /** The string of the token at {@code position}, all of it owned by that position. */
    static AttributedText ofToken(String token, int position) {
        int[] owners = new int[token.length()];
        Arrays.fill(owners, position);
        return new AttributedText(token, owners, position);
    }

    String text() {
        return text;
    }

    int length() {
        return text.length();
    }

    /** The owner of the UTF-16 unit at {@code index}. */
    int owner(int index) {
        return owners[index];
    }

    int anchor() {
        return anchor;
    }

    /** The owner of the last unit, or the anchor where the text is empty. */
    int lastOwner() {
        return owners.length == 0 ? anchor : owners[owners.length - 1];
    }

    /** Appends the pieces of this text to {@code pieces}, indexed by owner. */
    void distributeTo(StringBuilder[] pieces) {
        for (int i = 0; i < text.length(); i++) {
            pieces[owners[i]].append(text.charAt(i));
        }
    }

    /** Builds a text from code points or substrings, each with its owner. */
    static final class Builder {
        private final StringBuilder text = new StringBuilder();
        private int[] owners = new int[16];
        private final int anchor;

        Builder(int anchor) {
            this.anchor = anchor;
        }

        Builder appendCodePoint(int codePoint, int owner) {
            int before = text.length();
            text.appendCodePoint(codePoint);
            fill(before, owner);
            return this;
        }

        Builder append(CharSequence s, int owner) {
            int before = text.length();
            text.append(s);
            fill(before, owner);
            return this;
        }

        /** Appends units [from, to) of {@code source}, with their owners. */
        Builder append(AttributedText source, int from, int to) {
            int before = text.length();
            text.append(source.text, from, to);
            grow(text.length());
            System.arraycopy(source.owners, from, owners, before, to - from);
            return this;
        }

        Builder append(AttributedText source) {
            return append(source, 0, source.length());
        }

        AttributedText build() {
            return new AttributedText(text.toString(), Arrays.copyOf(owners, text.length()), anchor);
        }

        private void fill(int from, int owner) {
            grow(text.length());
            Arrays.fill(owners, from, text.length(), owner);
        }

        private void grow(int size) {
            if (owners.length < size) {
                owners = Arrays.copyOf(owners, Math.max(size, owners.length * 2));
            }
        }
    }
}
