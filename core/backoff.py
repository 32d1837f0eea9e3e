"""The wait before retrying a call to an outside system: "full jitter" (a random time up
to base * 2^(attempt-1), at most `cap`), and at least what the other side asked for
(Retry-After, also at most `cap`). Alerts, Slack, Google Play and App Store Connect wait
by it, each with its own base and cap."""

from __future__ import annotations

import random


def full_jitter(attempt: int, *, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (1, 2, …)."""
    delay = random.uniform(0, min(cap, base * 2 ** max(0, attempt - 1)))
    if retry_after:
        delay = max(delay, min(retry_after, cap))
    return delay
