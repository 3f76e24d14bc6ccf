package org.saestream.corpus;

import org.junit.jupiter.api.Test;
import org.saestream.corpus.ContextWindows.Cut;
import org.saestream.corpus.ContextWindows.Window;

import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ContextWindowsTest {
    private static final int BOS = 50256;

    private static int[] range(int from, int to) {
        return IntStream.range(from, to).toArray();
    }

    @Test
    void withoutBosWindowsAreConsecutiveSlices() {
        Cut cut = ContextWindows.cut(range(0, 10), 4, false, BOS);
        assertEquals(List.of(
                new Window(0, 0, range(0, 4), false),
                new Window(1, 4, range(4, 8), false),
                new Window(2, 8, range(8, 10), false)), cut.windows());
        assertEquals(10, cut.documentTokens());
        assertEquals(0, cut.droppedTokens());
        assertEquals(10, cut.modelTokens());
    }

    @Test
    void withBosEveryWindowStartsWithBosAndHoldsOneTokenLess() {
        Cut cut = ContextWindows.cut(range(0, 8), 4, true, BOS);
        assertEquals(List.of(
                new Window(0, 0, new int[]{BOS, 0, 1, 2}, true),
                new Window(1, 3, new int[]{BOS, 3, 4, 5}, true),
                new Window(2, 6, new int[]{BOS, 6, 7}, true)), cut.windows());
        assertEquals(0, cut.droppedTokens());
        assertEquals(11, cut.modelTokens());
        for (Window w : cut.windows()) {
            // firstTokenPosition is the document position of the token after the added BOS
            assertEquals(w.firstTokenPosition(), w.tokenIds()[1]);
            assertEquals(w.tokenIds().length - 1, w.documentTokens());
        }
    }

    @Test
    void aOneTokenTailIsDroppedAndCountedLongerTailsKept() {
        Cut noBos = ContextWindows.cut(range(0, 9), 4, false, BOS);
        assertEquals(2, noBos.windows().size());
        assertEquals(1, noBos.droppedTokens());

        Cut bos = ContextWindows.cut(range(0, 7), 4, true, BOS); // 3 + 3 + 1
        assertEquals(2, bos.windows().size());
        assertEquals(1, bos.droppedTokens());
        assertEquals(7, bos.documentTokens());

        Cut keepAll = ContextWindows.cut(range(0, 7), 4, true, BOS, 1);
        assertArrayEquals(new int[]{BOS, 6}, keepAll.windows().get(2).tokenIds());
        assertEquals(0, keepAll.droppedTokens());

        Cut strict = ContextWindows.cut(range(0, 8), 4, true, BOS, 3); // tail of 2 < 3
        assertEquals(2, strict.windows().size());
        assertEquals(2, strict.droppedTokens());
    }

    @Test
    void shortDocumentsGiveOneShortWindowOrNone() {
        assertEquals(List.of(new Window(0, 0, new int[]{BOS, 7, 8}, true)),
                ContextWindows.cut(new int[]{7, 8}, 128, true, BOS).windows());
        Cut one = ContextWindows.cut(new int[]{7}, 128, true, BOS);
        assertEquals(List.of(), one.windows());
        assertEquals(1, one.droppedTokens());
        Cut none = ContextWindows.cut(new int[0], 128, true, BOS);
        assertEquals(List.of(), none.windows());
        assertEquals(0, none.droppedTokens());
    }

    @Test
    void exactMultiplesHaveNoTail() {
        Cut cut = ContextWindows.cut(range(0, 9), 4, true, BOS);
        assertEquals(3, cut.windows().size());
        assertEquals(0, cut.droppedTokens());
        cut.windows().forEach(w -> assertEquals(4, w.tokenIds().length));
    }

    @Test
    void aBosTheTokenizerPutFirstIsNotDoubled() {
        int[] tokens = {BOS, 0, 1, 2, 3, 4, 5, 6};
        Cut cut = ContextWindows.cut(tokens, 4, true, BOS);
        assertEquals(List.of(
                new Window(0, 0, new int[]{BOS, 0, 1, 2}, false),
                new Window(1, 4, new int[]{BOS, 3, 4, 5}, true),
                new Window(2, 7, new int[]{BOS, 6}, true)), ContextWindows.cut(tokens, 4, true, BOS, 1).windows());
        assertEquals(2, cut.windows().size());
        assertEquals(1, cut.droppedTokens());
        // the tokenizer's BOS does not count towards the minimum tail: BOS + 1 token is dropped as BOS-added would be
        Cut lone = ContextWindows.cut(new int[]{BOS, 9}, 128, true, BOS);
        assertEquals(List.of(), lone.windows());
        assertEquals(2, lone.droppedTokens());
        // without prependBos a BOS in the document is an ordinary token
        assertEquals(new Window(0, 0, new int[]{BOS, 0, 1, 2}, false),
                ContextWindows.cut(tokens, 4, false, BOS).windows().get(0));
    }

    @Test
    void windowsCoverTheDocumentOnceInOrder() {
        int[] doc = range(0, 1000);
        for (int ctx : new int[]{2, 3, 17, 128, 1000, 1001}) {
            for (boolean bos : new boolean[]{false, true}) {
                Cut cut = ContextWindows.cut(doc, ctx, bos, BOS);
                int next = 0;
                for (int i = 0; i < cut.windows().size(); i++) {
                    Window w = cut.windows().get(i);
                    assertEquals(i, w.sequenceIndex());
                    assertEquals(next, w.firstTokenPosition());
                    int[] body = w.addedBos() ? java.util.Arrays.copyOfRange(w.tokenIds(), 1, w.tokenIds().length) : w.tokenIds();
                    assertArrayEquals(range(next, next + body.length), body, "ctx " + ctx + " bos " + bos);
                    assertEquals(bos, w.addedBos());
                    if (i < cut.windows().size() - 1) {
                        assertEquals(ctx, w.tokenIds().length);
                    }
                    next += body.length;
                }
                assertEquals(doc.length, next + cut.droppedTokens(), "ctx " + ctx + " bos " + bos);
            }
        }
    }

    @Test
    void argumentsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> ContextWindows.cut(range(0, 3), 1, true, BOS));
        assertThrows(IllegalArgumentException.class, () -> ContextWindows.cut(range(0, 3), 0, false, BOS));
        assertThrows(IllegalArgumentException.class, () -> ContextWindows.cut(range(0, 3), 4, true, BOS, 0));
        assertThrows(IllegalArgumentException.class, () -> ContextWindows.cut(range(0, 3), 4, true, BOS, 4));
        // one document token per window: every token kept, the default minimum tail does not apply
        assertEquals(3, ContextWindows.cut(range(0, 3), 1, false, BOS).windows().size());
        assertEquals(3, ContextWindows.cut(range(0, 3), 2, true, BOS).windows().size());
    }
}
