"""Errors that services raise when a rule refuses a change.

Each carries a stable `code` (used by the API's problem+json `type`), a message in plain
words that says what to fix, and optionally the field at fault.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400

    def __init__(self, code: str, message: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra

    def __str__(self) -> str:
        return self.message


class RuleViolation(DomainError):
    """A domain rule refuses the change (bad version, build too low, illegal state…)."""


class NotAllowed(DomainError):
    """The actor lacks the role this change needs."""

    status = 403


class Conflict(DomainError):
    """Someone else changed the object first, or the state moved under the request."""

    status = 409


class NotFound(DomainError):
    """What the request names does not exist (product, gate, release)."""

    status = 404
