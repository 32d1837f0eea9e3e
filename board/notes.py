"""Lines that layers above the board add to its decision panel (a port: the board knows
nothing of who adds them). Each provider takes the release and returns notes, read from
stored state only (the panel is cached): dicts with `tone` (ok | warn | bad), `mark`
(✓ ⚠ ✗) and `text`, already in the active language."""

from __future__ import annotations

from collections.abc import Callable

from releases.models import Release

Note = dict[str, str]
DecisionNotes = Callable[[Release], list[Note]]

_providers: list[DecisionNotes] = []


def decision_notes_register(provider: DecisionNotes) -> None:
    if provider not in _providers:
        _providers.append(provider)


def decision_notes(release: Release) -> list[Note]:
    return [note for provider in _providers for note in provider(release)]
