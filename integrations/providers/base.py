"""What every CI provider module offers, and the plain data it hands back.

A provider module (github.py, gitlab.py, jenkins.py) turns the provider's own words into
`Observation`s: one CI check or job, its status in our vocabulary, and what identifies
the run. Adding a provider is one new module and one line in `providers/__init__.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from integrations.models import Integration
    from integrations.poll_session import PollSession
    from releases.models import Release


@dataclass(frozen=True)
class Observation:
    """One CI check or job as the provider reports it."""

    name: str  # the check or job name; the integration's patterns map it to a gate
    status: str  # pending | running | passed | failed | error | skipped
    sha: str = ""
    branch: str = ""
    run_id: str = ""
    attempt: int = 1
    url: str = ""
    summary: str = ""
    observed_at: datetime | None = None
    allow_failure: bool = False  # GitLab: the job may fail without failing the pipeline
    # What the job belongs to: its workflow (GitHub) or pipeline stage (GitLab). Jobs of the
    # same name in two workflows are two jobs: `test` failing in ios-e2e is not cleared by
    # `test` passing in android-e2e.
    group: str = ""

    @property
    def identity(self) -> str:
        """The job as GitHub shows it, `<workflow> / <job>` (GitLab: `<stage> / <job>`);
        patterns match this first, then the plain name."""
        return f"{self.group} / {self.name}" if self.group else self.name


class BadDelivery(Exception):
    """The body is not what the provider sends (not JSON, wrong shape)."""


class WebhookProvider(Protocol):
    EVENTS: frozenset[str]  # the events it reads; others are stored and ignored

    def authenticate(self, integration: Integration, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether the delivery carries the integration's secret (constant time)."""
        ...

    def event_of(self, headers: Mapping[str, str], payload: Mapping[str, Any]) -> str: ...

    def delivery_key(self, headers: Mapping[str, str], payload: Mapping[str, Any]) -> str:
        """The id that makes a redelivery harmless ('' when the provider sends none)."""
        ...

    def observations(self, event: str, payload: Mapping[str, Any]) -> list[Observation]:
        """Every check or job the delivery reports ([] for pings and other events)."""
        ...


class PollingProvider(Protocol):
    def poll(self, session: PollSession, integration: Integration, release: Release) -> list[Observation]:
        """Ask the provider about the release's commit; [] when nothing is new."""
        ...


def timestamp(value: Any) -> datetime | None:
    """ISO 8601 (`2021-08-05T10:34:58Z`), GitLab's `2016-08-12 15:23:28 UTC`, or epoch
    milliseconds (Jenkins); None when absent or unreadable."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            parsed = datetime.fromtimestamp(value / 1000, tz=UTC)
        elif isinstance(value, str):
            text = value.strip()
            if text.endswith(" UTC"):
                text = text[:-4] + "+00:00"
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            parsed = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
        else:
            return None
    except (OverflowError, OSError, ValueError):
        return None
    return parsed


MAX_INT = 2**31 - 1


def text(value: Any, limit: int = 500) -> str:
    """A string field, or '' for null and non-strings."""
    return value[:limit] if isinstance(value, str) else ""


def number(value: Any, default: int = 1) -> int:
    """A positive integer that fits the database, else `default`."""
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_INT else default
    )


def items(value: Any) -> list[Any]:
    """A JSON array field, or [] for null and anything else."""
    return value if isinstance(value, list) else []
