"""A change that weakens a rule under a standing Go makes that Go stale, with what
changed in words and who changed it when (issue 11, finding 3)."""

from __future__ import annotations

import textwrap
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, RoleMembership
from board.decisions import release_decide
from board.selectors import release_board
from checklists.models import ChecklistItem
from checklists.services import checklist_item_tick
from core.when import when_text
from gates.services import gate_result_record, waiver_approve, waiver_request
from integrations.models import ApiToken
from integrations.tokens import token_issue

from ..releases.builders import World, build_world, sign_all
from .admin_forms import admin_post

pytestmark = pytest.mark.django_db


def go_over_a_waived_failure(make_user: Any) -> World:
    """Gate 0 failed and is waived, gate 1 passed, everything else ready: the PM says Go."""
    world = build_world(make_user, ready=False)
    failing, passing = world.gates
    gate_result_record(release=world.release, gate=failing, status="failed", run_id="run-1")
    gate_result_record(release=world.release, gate=passing, status="passed", run_id="run-2")
    waiver = waiver_request(
        release=world.release,
        gate=failing,
        actor=world.lead,
        reason="Flaky provider stub",
        risk="Low",
        mitigation="Fixed in 1.0.1",
    )
    waiver_approve(waiver=waiver, actor=world.pm)
    for item in ChecklistItem.objects.filter(checklist__release=world.release, core=True):
        checklist_item_tick(item=item, state="passed", actor=world.qa)
    sign_all(world)
    release_decide(release=world.release, outcome="go", actor=world.pm)
    assert release_board(world.refresh()).go_stands
    return world


def verdict_api(client: Client, world: World) -> dict[str, Any]:
    _token, raw = token_issue(name="ci-verdict", product=world.product, scopes=["verdict"])
    url = reverse(
        "api:release_verdict", kwargs={"product": world.product.slug, "version": world.release.version}
    )
    response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200, response.content
    return response.json()


def test_unticking_blocks_on_a_waived_failing_gate_in_the_admin_makes_the_go_stale(
    make_user: Any, client: Client
) -> None:
    world = go_over_a_waived_failure(make_user)
    api = Client()
    assert verdict_api(api, world)["decision"] == "go"

    client.force_login(get_user_model().objects.create_superuser("admin", "a@example.com", "pw"))
    gate = world.gates[0]
    url = reverse("admin:gates_gate_change", args=[gate.pk])
    assert admin_post(client, url, {"blocking": None}).status_code == 302

    assert verdict_api(api, world)["decision"] == "pending"  # not go
    board = release_board(world.refresh())
    assert board.decision_stale and not board.go_stands
    [change] = board.rule_changes
    assert change["what"] == "“Gate 0” no longer blocks the release"
    assert change["by"] == "admin" and change["at"] == when_text(timezone.now(), "time")

    # The PM sees it on the board, in words.
    client.force_login(world.pm)
    page = client.get(
        reverse("board:release_board", kwargs={"product": world.product.slug, "version": "1.0.0"})
    ).content.decode()
    assert "this Go no longer stands" in page
    assert "“Gate 0” no longer blocks the release (changed by admin at" in page


def test_a_role_granted_on_the_product_makes_the_go_stale(make_user: Any) -> None:
    world = go_over_a_waived_failure(make_user)
    someone = make_user()
    RoleMembership.objects.create(user=someone, role=Role.PM, product=world.product)

    board = release_board(world.refresh())
    assert not board.go_stands
    assert [c["what"] for c in board.rule_changes] == [
        f"{someone.username} was given the role PM/PO on this product"
    ]


def test_a_new_qa_or_lead_leaves_the_go_standing(make_user: Any) -> None:
    """Someone joining by single sign-on during a rollout withdraws nothing: only a PM/PO
    may call Go or approve a waiver."""
    world = go_over_a_waived_failure(make_user)
    RoleMembership.objects.create(user=make_user(), role=Role.QA, product=world.product)
    RoleMembership.objects.create(user=make_user(), role=Role.BACKEND_LEAD)
    assert release_board(world.refresh()).go_stands


def test_a_role_on_another_product_changes_nothing(make_user: Any) -> None:
    world = go_over_a_waived_failure(make_user)
    other = build_world(make_user).product
    RoleMembership.objects.create(user=make_user(), role=Role.PM, product=other)
    assert release_board(world.refresh()).go_stands


def test_a_token_unrevoked_makes_the_go_stale(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    token, _raw = token_issue(name="old-ci", product=world.product, scopes=["results"])
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    world = _decide_go(world)

    ApiToken.objects.filter(pk=token.pk).update(revoked_at=None)

    board = release_board(world.refresh())
    assert not board.go_stands
    assert [c["what"] for c in board.rule_changes] == [
        "the revoked API token “old-ci” may report for this product again"
    ]


def _decide_go(world: World) -> World:
    from ..releases.builders import make_ready

    make_ready(world)
    release_decide(release=world.release, outcome="go", actor=world.pm)
    assert release_board(world.refresh()).go_stands
    return world


def test_fewer_required_signoffs_makes_the_go_stale(make_user: Any) -> None:
    world = _decide_go(build_world(make_user, ready=False))
    world.product.signoff_roles = [Role.QA]
    world.product.save()

    board = release_board(world.refresh())
    assert not board.go_stands
    assert [c["what"] for c in board.rule_changes] == ["the sign-off of Backend Lead is no longer required"]


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("waivable", True, "may now be waived"),
        ("phase", "post_deploy", "moved to after deploy"),
    ],
)
def test_other_gate_weakenings_make_the_go_stale(make_user: Any, field: str, value: Any, words: str) -> None:
    world = build_world(make_user, ready=False)
    gate = world.gates[1]
    gate.waivable = False
    gate.save()
    world = _decide_go(world)
    setattr(gate, field, value)
    gate.save()

    board = release_board(world.refresh())
    assert not board.go_stands
    assert [c["what"] for c in board.rule_changes] == [f"“Gate 1” {words}"]


def test_a_stricter_rule_does_not_make_the_go_stale(make_user: Any) -> None:
    world = _decide_go(build_world(make_user, ready=False))
    gate = world.gates[1]
    gate.waivable = False  # was waivable: stricter
    gate.save()
    world.product.rehearsal_window_days = 30  # shorter window: stricter (the rehearsal is 3 days old)
    world.product.save()

    board = release_board(world.refresh())
    assert board.rule_changes == [] and board.go_stands


def test_a_weakening_by_apply_policy_names_the_policy_file(make_user: Any, tmp_path: Path) -> None:
    world = go_over_a_waived_failure(make_user)
    gate = world.gates[0]
    path = tmp_path / "rules.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [[gates]]
            key = "{gate.key}"
            name = "{gate.name}"
            owner_role = "backend_lead"
            waivable = true
            blocking = false
            """
        )
    )
    call_command("apply_policy", str(path), stdout=StringIO(), stderr=StringIO())

    board = release_board(world.refresh())
    assert not board.go_stands
    [change] = board.rule_changes
    assert change["what"] == "“Gate 0” no longer blocks the release"
    assert change["by"] == f"policy:{path}"
