"""Exit codes, and the error that stops a command."""

from __future__ import annotations

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_PENDING = 3


class CliError(Exception):
    """Stops the command: the message is printed to stderr and `code` is the exit status."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class Unreachable(CliError):
    """The server did not give a usable answer: connection error, timeout, 5xx, 429."""
