"""A release's moves with what the board adds to them: a release that becomes a candidate
gets its checklists, copied from their templates (checklists.services), in the same
transaction. Everything else about the move is releases.lifecycle's.

The CI results that waited for a release (integrations.inbox) are replayed by the
interface that announced it (the API).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.db import transaction

from checklists.services import checklists_create_for_release
from releases import lifecycle
from releases.models import Product, Release, ReleaseState

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def release_create(
    *,
    product: Product,
    version: str,
    build: Any,
    commit: str = "",
    branch: str = "",
    target_date: date | None = None,
    owner: User | None = None,
    actor: User | None = None,
    actor_label: str = "",
    state: str = ReleaseState.DRAFT,
) -> Release:
    """Create a release (releases.lifecycle.release_create); one created as a candidate
    gets its checklists. The CI results that waited for it are the caller's to replay
    (`integrations.inbox.deliveries_replay_schedule`; integrations is a layer above)."""
    release = lifecycle.release_create(
        product=product,
        version=version,
        build=build,
        commit=commit,
        branch=branch,
        target_date=target_date,
        owner=owner,
        actor=actor,
        actor_label=actor_label,
        state=state,
    )
    if release.state == ReleaseState.CANDIDATE:
        checklists_create_for_release(release=release, actor=actor)
    return release


@transaction.atomic
def release_promote(
    *, release: Release, actor: User | None = None, actor_label: str = "", commit: str = ""
) -> Release:
    """Draft → candidate (releases.lifecycle.release_promote: its owner or a PM/PO, with
    its commit), with the release's checklists copied from their templates. A commit
    given here is new: the CI results that waited for it are replayed after commit
    (`releases.events.release_commit_set`, heard by integrations), from any interface."""
    release = lifecycle.release_promote(release=release, actor=actor, actor_label=actor_label, commit=commit)
    checklists_create_for_release(release=release, actor=actor)
    return release


@transaction.atomic
def release_report(
    *, product: Product, version: str, build: Any, commit: str = "", branch: str = "", actor_label: str = ""
) -> tuple[Release, str]:
    """A candidate announced by CI (releases.lifecycle.release_report); a new one gets its
    checklists. Returns the release and which of `created`, `new_build`, `unchanged` it was."""
    release, what = lifecycle.release_report(
        product=product, version=version, build=build, commit=commit, branch=branch, actor_label=actor_label
    )
    if what == "created":
        checklists_create_for_release(release=release)
    return release, what
