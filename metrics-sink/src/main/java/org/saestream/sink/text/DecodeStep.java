package org.saestream.sink.text;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * One decoder of a Hugging Face {@code tokenizer.json}, as the Rust {@code tokenizers} library runs it
 * ({@code decode_chain}): a list of token strings in, a list of strings out, all of them joined at the
 * end. Here the strings are {@link AttributedText}s, so every output character still knows its token.
 */
sealed interface DecodeStep {
    /** The kinds {@link #parse} accepts, for error messages. */
    String SUPPORTED = "ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, and Sequence of these";

    List<AttributedText> apply(List<AttributedText> tokens);

    /**
     * The step described by {@code node} (the {@code decoder} field, or one of a Sequence's
     * {@code decoders}); {@code where} names it in error messages together with the file.
     */
    static DecodeStep parse(JsonNode node, Path file, String where) {
        if (node == null || node.isNull()) {
            return new SpaceJoin();
        }
        String kind = node.path("type").asText("");
        switch (kind) {
            case "ByteLevel":
                return new ByteLevel();
            case "ByteFallback":
                return new ByteFallback();
            case "Fuse":
                return new Fuse();
            case "Metaspace":
                return Metaspace.parse(node, file, where);
            case "Replace":
                return Replace.parse(node, file, where);
            case "Strip":
                return new Strip(singleCodePoint(node, "content", file, where),
                        nonNegative(node, "start", file, where), nonNegative(node, "stop", file, where));
            case "Sequence": {
                JsonNode list = node.path("decoders");
                if (!list.isArray()) {
                    throw invalid(file, where + ".decoders", "is missing or not a list");
                }
                List<DecodeStep> steps = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) {
                    steps.add(parse(list.get(i), file, where + ".decoders[" + i + "]"));
                }
                return new Sequence(List.copyOf(steps));
            }
            default:
                throw new IllegalArgumentException("tokenizer " + file + ": " + where + " is of kind '" + kind
                        + "', which this decoder does not support (supported: " + SUPPORTED + ")");
        }
    }

    /** GPT-2 byte-level BPE: every character is one byte (see {@link ByteLevelAlphabet}); the bytes are UTF-8. */
    record ByteLevel() implements DecodeStep {
        @Override
        public List<AttributedText> apply(List<AttributedText> tokens) {
            if (tokens.isEmpty()) {
                return List.of();
            }
            AttributedBytes bytes = new AttributedBytes();
            for (AttributedText token : tokens) {
                String s = token.text();
                // as in tokenizers: a token with any character outside the table (an added token such as
                // "\n\n") contributes its own UTF-8 bytes instead
                boolean inTable = true;
                for (int i = 0; i < s.length() && inTable; i++) {
                    inTable = ByteLevelAlphabet.byteOf(s.charAt(i)) >= 0; // the table is all in the BMP
                }
                for (int i = 0; i < s.length(); i += Character.charCount(s.codePointAt(i))) {
                    int c = s.codePointAt(i);
                    if (inTable) {
                        bytes.add(ByteLevelAlphabet.byteOf(c), token.owner(i));
                    } else {
                        bytes.addUtf8(c, token.owner(i));
                    }
                }
            }
            return List.of(bytes.decode(tokens.get(tokens.size() - 1).lastOwner()));
        }
    }

    /**
     * SentencePiece's byte fallback: a run of {@code <0xNN>} tokens becomes its bytes as UTF-8 where the
     * whole run is well-formed, and otherwise one U+FFFD per byte token (tokenizers' rule, not the
     * maximal-subpart rule of ByteLevel).
     */
    record ByteFallback() implements DecodeStep {
        @Override
        public List<AttributedText> apply(List<AttributedText> tokens) {
            List<AttributedText> out = new ArrayList<>(tokens.size());
            AttributedBytes run = new AttributedBytes();
            for (AttributedText token : tokens) {
                int b = byteToken(token.text());
                if (b >= 0) {
                    run.add(b, token.lastOwner());
                } else {
                    flush(run, out);
                    out.add(token);
                }
            }
            flush(run, out);
            return out;
        }

        private static void flush(AttributedBytes run, List<AttributedText> out) {
            if (run.isEmpty()) {
                return;
            }
            if (run.isWellFormed()) {
                out.add(run.decode(run.owner(run.size() - 1)));
            } else {
                for (int i = 0; i < run.size(); i++) {
                    out.add(new AttributedText.Builder(run.owner(i))
                            .appendCodePoint(AttributedBytes.REPLACEMENT, run.owner(i)).build());
                }
            }
            run.clear();
        }

        /** The byte of a token spelled exactly {@code <0xNN>} (hex digits in either case), else -1. */
        static int byteToken(String s) {
            if (s.length() != 6 || !s.startsWith("<0x") || s.charAt(5) != '>') {
                return -1;
            }
            int hi = hexDigit(s.charAt(3));
            int lo = hexDigit(s.charAt(4));
            return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
        }

        private static int hexDigit(char c) {
            if (c >= '0' && c <= '9') {
                return c - '0';
            }
            if (c >= 'a' && c <= 'f') {
                return c - 'a' + 10;
            }
            return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        }
    }

    /** Joins all tokens into one (so that a following Strip acts on the whole text). */
    record Fuse() implements DecodeStep {
        @Override
        public List<AttributedText> apply(List<AttributedText> tokens) {
            if (tokens.isEmpty()) {
                return List.of();
            }
            AttributedText.Builder out = new AttributedText.Builder(tokens.get(0).anchor());
            tokens.forEach(out::append);
            return List.of(out.build());
        }
    }

    /**
     * SentencePiece's metaspace: {@code replacement} (normally U+2581 ▁) becomes a space, except in the
     * first token, where it is dropped unless the prepend scheme is "never".
     */
    record Metaspace(int replacement, boolean dropInFirst) implements DecodeStep {
        static Metaspace parse(JsonNode node, Path file, String where) {
            int replacement = singleCodePoint(node, "replacement", file, where);
            JsonNode scheme = node.get("prepend_scheme");
            if (scheme != null && !scheme.isNull()) {
                switch (scheme.asText()) {
                    case "always":
                    case "first":
                        return new Metaspace(replacement, true);
                    case "never":
                        return new Metaspace(replacement, false);
                    default:
                        throw invalid(file, where + ".prepend_scheme",
                                "is '" + scheme.asText() + "', expected always, first or never");
                }
            }
            // tokenizer.json files written before prepend_scheme existed (default: add the prefix space)
            return new Metaspace(replacement, node.path("add_prefix_space").asBoolean(true));
        }

        @Override
        public List<AttributedText> apply(List<AttributedText> tokens) {
            List<AttributedText> out = new ArrayList<>(tokens.size());
            for (int t = 0; t < tokens.size(); t++) {
                AttributedText token = tokens.get(t);
                String s = token.text();
                AttributedText.Builder b = new AttributedText.Builder(token.anchor());
                for (int i = 0; i < s.length(); i += Character.charCount(s.codePointAt(i))) {
                    int c = s.codePointAt(i);
                    if (c != replacement) {
                        b.appendCodePoint(c, token.owner(i));
                    } else if (!(t == 0 && dropInFirst)) {
                        b.appendCodePoint(' ', token.owner(i));
                    }
                }
                out.add(b.build());
            }
            return out;
        }
    }

    /**
     * Replaces each match of {@code pattern} in each token by {@code content}; the replacement belongs
     * to the token of the match's last character. Regex patterns go to java.util.regex, which reads the
     * simple patterns of real decoders as Oniguruma (the library's engine) does.
     */
    record Replace(Pattern pattern, String content) implements DecodeStep {
        static Replace parse(JsonNode node, Path file, String where) {
            JsonNode p = node.path("pattern");
            JsonNode content = node.get("content");
            if (content == null || !content.isTextual()) {
                throw invalid(file, where + ".content", "is missing or not a string");
            }
            if (p.hasNonNull("String")) {
                return new Replace(Pattern.compile(Pattern.quote(p.get("String").asText())), content.asText());
            }
            if (p.hasNonNull("Regex")) {
                try {
                    return new Replace(Pattern.compile(p.get("Regex").asText()), content.asText());
                } catch (PatternSyntaxException e) {
                    throw invalid(file, where + ".pattern.Regex", "is not a regular expression Java accepts: "
                            + e.getDescription());
                }
            }
            throw invalid(file, where + ".pattern", "has neither a String nor a Regex");
        }

        @Override
        public List<AttributedText> apply(List<AttributedText> tokens) {
            List<AttributedText> out = new ArrayList<>(tokens.size());
            for (AttributedText token : tokens) {
                Matcher m = pattern.matcher(token.text());
                AttributedText.Builder b = new AttributedText.Builder(token.anchor());
                int done = 0;
                while (m.find()) {
                    b.append(token, done, m.start());
                    int owner = m.end() > 0 ? token.owner(m.end() - 1)
                            : token.length() > 0 ? token.owner(0) : token.anchor();
                    b.append(content, owner);
                    done = m.end();
                }
                b.append(token, done, token.length());
                out.add(b.build());
            }
            return out;
        }
    }

    /** Removes up to {@code start} leading and {@code stop} trailing {@code content} characters of each token. */
    record Strip(int content, int start, int stop) implements DecodeStep {
        @Override
        public List<AttributedText> apply(List<AttributedText> tokens) {
            List<AttributedText> out = new ArrayList<>(tokens.size());
            for (AttributedText token : tokens) {
                String s = token.text();
                int from = 0;
                for (int n = 0; n < start && from < s.length() && s.codePointAt(from) == content; n++) {
                    from += Character.charCount(content);
                }
                int to = s.length();
                for (int n = 0; n < stop && to > from && s.codePointBefore(to) == content; n++) {
                    to -= Character.charCount(content);
                }
                out.add(new AttributedText.Builder(token.anchor()).append(token, from, to).build());
            }
            return out;
        }
    }

    /** Runs its steps one after the other. */
    record Sequence(List<DecodeStep> steps) implements DecodeStep {
        @Override
        public List<AttributedText> apply(List<AttributedText> tokens) {
            List<AttributedText> current = tokens;
            for (DecodeStep step : steps) {
                current = step.apply(current);
            }
            return current;
        }
    }

    /** No decoder in the file: tokenizers joins the token strings with single spaces. */
    record SpaceJoin() implements DecodeStep {
        @Override
        public List<AttributedText> apply(List<AttributedText> tokens) {
            if (tokens.isEmpty()) {
                return List.of();
            }
            AttributedText.Builder out = new AttributedText.Builder(tokens.get(0).anchor());
            for (int i = 0; i < tokens.size(); i++) {
                if (i > 0) {
                    out.append(" ", tokens.get(i).anchor()); // the space goes with the token after it
                }
                out.append(tokens.get(i));
            }
            return List.of(out.build());
        }
    }

    private static int singleCodePoint(JsonNode node, String field, Path file, String where) {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual() || v.asText().codePointCount(0, v.asText().length()) != 1) {
            throw invalid(file, where + "." + field, "should be a string of one character, found " + v);
        }
        return v.asText().codePointAt(0);
    }

    private static int nonNegative(JsonNode node, String field, Path file, String where) {
        JsonNode v = node.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0) {
            throw invalid(file, where + "." + field, "should be a non-negative integer, found " + v);
        }
        return v.asInt();
    }

    private static IllegalArgumentException invalid(Path file, String field, String problem) {
        return new IllegalArgumentException("tokenizer " + file + ": " + field + " " + problem);
    }
}
