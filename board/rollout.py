"""The rollout's steps as the board offers them: operations.rollout, given the board's
standing of the release (the Go decision, the verdict, the post-deploy gates) through
the port `operations.rollout.RolloutStanding`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from operations import rollout
from operations.rollout import Standing
from releases.models import Release, ReleaseState, Vote

from .selectors import ReleaseBoard, release_board

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def rollout_standing(release: Release) -> Standing:
    """The board's answer to what the rollout asks, read now (under the caller's lock)."""
    return standing_of(release_board(release))


def standing_of(board: ReleaseBoard) -> Standing:
    return Standing(
        go_called=bool(board.decision and board.decision.outcome == Vote.GO),
        evidence_unchanged=not board.decision_stale,
        ready=board.verdict.ready,
        post_deploy_unpassed=tuple(
            (row.gate.key, row.gate.name)
            for row in board.gates
            if row.gate.phase == "post_deploy" and row.status != "passed"
        ),
        post_deploy_failed=tuple(
            (row.gate.key, row.gate.name)
            for row in board.gates
            if row.gate.phase == "post_deploy" and row.gate.blocking and row.status == "failed"
        ),
    )


def release_rollout_start(*, release: Release, actor: User | None) -> Release:
    return rollout.rollout_start(release=release, actor=actor, standing=rollout_standing)


def release_rollout_resume(*, release: Release, actor: User | None) -> Release:
    return rollout.rollout_resume(release=release, actor=actor, standing=rollout_standing)


def release_rollout_advance(*, release: Release, actor: User | None, to: int | None = None) -> Release:
    return rollout.rollout_advance(release=release, actor=actor, standing=rollout_standing, to=to)


def releases_auto_advance() -> int:
    """Advance every rolling-out release of a product with `auto_advance` whose stage may
    advance (soaked, in bounds, smoke passed), as the system. How many advanced."""
    advanced = 0
    for release in Release.objects.filter(
        state=ReleaseState.ROLLING_OUT, product__auto_advance=True
    ).select_related("product"):
        with transaction.atomic():
            advanced += rollout.rollout_auto_advance(release=release, standing=rollout_standing)
    return advanced


def release_halt_by(*, release: Release, actor: User | None, reason: str) -> Release:
    return rollout.rollout_halt(release=release, actor=actor, reason=reason)


def release_roll_back(*, release: Release, actor: User | None, minutes: Any, notes: str = "") -> Release:
    return rollout.rollout_roll_back(release=release, actor=actor, minutes=minutes, notes=notes)
