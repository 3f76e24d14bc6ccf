package org.saestream.cli;

import java.io.FileNotFoundException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Which failures are the user's to fix, and the one line that says what to fix. Code that checks what the user
 * gave throws {@link IllegalArgumentException} with a message naming the option, file, record or address; a
 * missing or unwritable file and a port in use are the user's too, wherever they are found.
 */
final class UserErrors {
    private UserErrors() {
    }

    /** The one-line message when {@code e} (or what it wraps) is a user error; empty for anything else. */
    static Optional<String> describe(Throwable e) {
        for (Throwable t = e; t != null; t = wrapped(t)) {
            if (t instanceof IllegalArgumentException) {
                return Optional.of(t.getMessage() != null ? t.getMessage() : t.toString());
            }
            if (t instanceof NoSuchFileException n) {
                return Optional.of("no such file or directory: " + n.getFile() + context(e, t));
            }
            if (t instanceof NotDirectoryException n) {
                return Optional.of("not a directory: " + n.getFile() + context(e, t));
            }
            if (t instanceof FileAlreadyExistsException n) {
                return Optional.of("already exists: " + n.getFile() + context(e, t));
            }
            if (t instanceof AccessDeniedException n) {
                return Optional.of("permission denied: " + n.getFile() + context(e, t));
            }
            if (t instanceof FileSystemException n && n.getReason() != null) {
                return Optional.of(n.getFile() + ": " + n.getReason() + context(e, t));
            }
            if (t instanceof FileNotFoundException || t instanceof BindException) {
                return Optional.of(t.getMessage() + context(e, t));
            }
        }
        return Optional.empty();
    }

    /** The innermost message, for failures that are not the user's: the class too, since messages can be terse. */
    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e || t.getMessage() == null ? e.toString() : e.getMessage() + ": " + t;
    }

    /** Only wrappers are looked through: a library's own exception that merely has a cause is not the user's. */
    private static Throwable wrapped(Throwable t) {
        boolean wrapper = t instanceof UncheckedIOException || t instanceof ExecutionException
                || t instanceof CompletionException || (t instanceof java.io.IOException && t.getCause() != null);
        return wrapper && t.getCause() != t ? t.getCause() : null;
    }

    /** What the outer exception said about the inner one, when it said more than the inner one's own message. */
    private static String context(Throwable outer, Throwable inner) {
        String message = outer == inner ? null : outer.getMessage();
        return message == null || message.contains(String.valueOf(inner.getMessage())) ? "" : " (" + message + ")";
    }
}
