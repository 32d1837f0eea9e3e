"""A draft becomes a release candidate (issue 15, item 3): by its owner or a PM/PO, with a
commit on record, from the board, the admin or the API (tests/api/test_promote.py); the
checklists are copied; each refusal says what to do; the board says who may."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from accounts.models import Role
from audit.models import AuditEvent
from board.lifecycle import release_create, release_promote
from checklists.models import Checklist
from core.errors import Conflict, NotAllowed, RuleViolation
from releases.models import Release, ReleaseState

from ..releases.builders import World, build_world

COMMIT = "b" * 40


def draft(
    world: World, *, commit: str = "", owner: Any = None, version: str = "1.1.0", build: int = 20
) -> Release:
    return release_create(
        product=world.product, version=version, build=build, commit=commit, branch="release/1.1", owner=owner
    )


def board_url(release: Release) -> str:
    return reverse(
        "board:release_board", kwargs={"product": release.product.slug, "version": release.version}
    )


def promote_url(release: Release) -> str:
    return reverse(
        "board:release_promote", kwargs={"product": release.product.slug, "version": release.version}
    )


@pytest.mark.django_db
def test_the_owner_or_a_pm_promotes_and_the_checklists_are_copied(make_user: Any) -> None:
    world = build_world(make_user)
    owner = make_user(Role.QA, product=world.product)  # owning the release is enough
    release = draft(world, commit=COMMIT, owner=owner)
    assert not Checklist.objects.filter(release=release).exists()
    for outsider in (world.qa, world.lead, world.devops):
        with pytest.raises(NotAllowed) as refused:
            release_promote(release=release, actor=outsider)
        assert "release owner or a PM/PO" in refused.value.message
    promoted = release_promote(release=release, actor=owner)
    assert promoted.state == ReleaseState.CANDIDATE
    assert Checklist.objects.filter(release=release).count() == 1
    event = AuditEvent.objects.get(action="release.promote", release_id=release.pk)
    assert (event.actor, event.before["state"], event.after["state"]) == (owner, "draft", "candidate")
    with pytest.raises(Conflict) as again:
        release_promote(release=release, actor=world.pm)
    assert again.value.code == "illegal_transition" and "Only a draft" in again.value.message
    other = draft(world, commit=COMMIT, version="1.2.0", build=21)
    assert release_promote(release=other, actor=make_user(Role.PM)).state == ReleaseState.CANDIDATE


@pytest.mark.django_db
def test_a_draft_without_a_commit_needs_one(make_user: Any) -> None:
    world = build_world(make_user)
    release = draft(world)
    with pytest.raises(RuleViolation) as missing:
        release_promote(release=release, actor=world.pm)
    assert (missing.value.code, missing.value.field) == ("commit_missing", "commit")
    assert "Build 20 has no commit yet" in missing.value.message
    with pytest.raises(RuleViolation) as bad:
        release_promote(release=release, actor=world.pm, commit="not-a-sha")
    assert bad.value.code == "commit_invalid"
    assert Release.objects.get(pk=release.pk).state == ReleaseState.DRAFT
    promoted = release_promote(release=release, actor=world.pm, commit=COMMIT.upper())
    assert (promoted.state, promoted.commit_sha) == (ReleaseState.CANDIDATE, COMMIT)
    set_event = AuditEvent.objects.get(action="release.commit_set", release_id=release.pk)
    assert (set_event.before["commit_sha"], set_event.after["commit_sha"]) == ("", COMMIT)


@pytest.mark.django_db
def test_another_commit_is_another_build(make_user: Any) -> None:
    world = build_world(make_user)
    release = draft(world, commit=COMMIT)
    with pytest.raises(RuleViolation) as differs:
        release_promote(release=release, actor=world.pm, commit="c" * 40)
    assert differs.value.code == "commit_differs" and "higher build number" in differs.value.message
    # The same commit, abbreviated, is the same build.
    assert release_promote(release=release, actor=world.pm, commit=COMMIT[:12]).commit_sha == COMMIT


@pytest.mark.django_db
def test_the_board_offers_the_button_to_who_may_and_says_who_may_to_the_others(
    make_user: Any, client: Client
) -> None:
    world = build_world(make_user)
    release = draft(world, owner=world.lead)
    client.force_login(world.pm)
    html = client.get(board_url(release)).content.decode()
    promote = html.split('id="promote"', 1)[1].split("</header>", 1)[0]
    assert "Make it a release candidate" in promote and f'action="{promote_url(release)}"' in promote
    assert 'name="commit"' in promote and "required" in promote  # no commit yet: asked for
    assert "Build 20 has no commit yet" in promote
    client.force_login(world.qa)
    html = client.get(board_url(release)).content.decode()
    promote = html.split('id="promote"', 1)[1].split("</header>", 1)[0]
    assert "Make it a release candidate" not in promote and "<form" not in promote
    assert (
        escape(
            f"The release owner ({world.lead.username}) or a PM/PO of {world.product.slug} makes it a release candidate."
        )
        in promote
    )
    # A candidate's board has no such section.
    assert 'id="promote"' not in client.get(board_url(world.release)).content.decode()


@pytest.mark.django_db
def test_promoting_from_the_board(make_user: Any, client: Client) -> None:
    world = build_world(make_user)
    release = draft(world, owner=world.lead)
    client.force_login(world.qa)
    assert client.post(promote_url(release), {"commit": COMMIT}).status_code == 403
    client.force_login(world.lead)  # the owner
    refused = client.post(promote_url(release), {"commit": ""})
    assert refused.status_code == 302 and refused["Location"] == board_url(release) + "#promote"
    assert any("no commit yet" in str(m) for m in get_messages(refused.wsgi_request))
    done = client.post(promote_url(release), {"commit": COMMIT})
    assert done.status_code == 302 and done["Location"] == board_url(release)
    release.refresh_from_db()
    assert (release.state, release.commit_sha) == (ReleaseState.CANDIDATE, COMMIT)
    page = client.get(board_url(release)).content.decode()
    assert "is a release candidate" in page and 'id="promote"' not in page
    assert "Core 0" in page  # its checklist was copied


@pytest.mark.django_db
def test_the_dashboard_links_a_draft_to_its_button(make_user: Any, client: Client) -> None:
    world = build_world(make_user)
    release = draft(world, commit=COMMIT)
    client.force_login(world.pm)
    html = client.get(reverse("board:dashboard")).content.decode()
    assert f'href="{board_url(release)}#promote"' in html


@pytest.mark.django_db
def test_the_admin_action_uses_the_same_rules(make_user: Any, client: Client) -> None:
    world = build_world(make_user)
    ready = draft(world, commit=COMMIT)
    bare = draft(world, version="1.2.0", build=21)
    url = reverse("admin:releases_release_changelist")
    body = {"action": "make_candidate", "_selected_action": [ready.pk, bare.pk]}
    root = make_user(is_staff=True, is_superuser=True)  # an administrator acts by roles held
    client.force_login(root)
    response = client.post(url, body, follow=True)
    text = response.content.decode()
    assert "Only the release owner or a PM/PO" in text
    assert Release.objects.get(pk=ready.pk).state == ReleaseState.DRAFT
    staff_pm = make_user(Role.PM, product=world.product, is_staff=True, is_superuser=True)
    client.force_login(staff_pm)
    text = client.post(url, body, follow=True).content.decode()
    assert "1 draft is now a release candidate." in text
    assert escape(f"Release {world.product.slug} 1.2.0: Build 21 has no commit yet") in text
    assert Release.objects.get(pk=ready.pk).state == ReleaseState.CANDIDATE
    assert Release.objects.get(pk=bare.pk).state == ReleaseState.DRAFT


def test_promoting_with_the_commit_replays_the_ci_results_that_waited_for_it(
    make_user: Any, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    """Whichever interface promotes (board, admin, API), the inbox hears the new commit."""
    from integrations import tasks

    replayed: list[int] = []
    monkeypatch.setattr(tasks.deliveries_replay_task, "delay", replayed.append)
    world = build_world(make_user)
    release = draft(world)
    with django_capture_on_commit_callbacks(execute=True):
        release_promote(release=release, actor=world.pm, commit=COMMIT)
    assert replayed == [release.pk]
    other = draft(world, commit=COMMIT.replace("b", "c"), version="1.2.0", build=21)
    replayed.clear()
    with django_capture_on_commit_callbacks(execute=True):
        release_promote(release=other, actor=world.pm)  # it had its commit: nothing waited
    assert replayed == []
