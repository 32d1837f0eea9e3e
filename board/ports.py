"""What the board shows from the layers above it (ports: they register in their
AppConfig.ready, the board asks; the board imports none of them). Every reader reads
stored state only: the panels are cached (core/panel_cache.py).

- the sign-offs panel: `signoffs_extra(release)` is `{name: value}` for its template
  (`slack/`: the ask in Slack and the votes from it);
- the decision panel: `decision_notes(release)`, lines (dicts with `tone` ok | warn | bad,
  `mark` ✓ ⚠ ✗ and `text`, already in the active language) (`integrations/`: the GitHub
  App's deployments and commit status).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from releases.models import Release

Note = dict[str, str]
DecisionNotes = Callable[[Release], list[Note]]

_SIGNOFFS_EXTRA: dict[str, Callable[[Release], Any]] = {}
_DECISION_NOTES: list[DecisionNotes] = []


def signoffs_extra_provide(name: str, reader: Callable[[Release], Any]) -> None:
    _SIGNOFFS_EXTRA[name] = reader


def signoffs_extra(release: Release) -> dict[str, Any]:
    return {name: reader(release) for name, reader in _SIGNOFFS_EXTRA.items()}


def decision_notes_register(provider: DecisionNotes) -> None:
    if provider not in _DECISION_NOTES:
        _DECISION_NOTES.append(provider)


def decision_notes(release: Release) -> list[Note]:
    return [note for provider in _DECISION_NOTES for note in provider(release)]
