package dev.vlstm.examples;

/** A user-facing error: its message is printed as one line, and the exit code is 1. */
final class CliException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    CliException(String message) {
        super(message);
    }
}
