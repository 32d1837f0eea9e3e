"""Programme checks ticked by evidence, not by a click (issue 14, items 5 and 6): "Release
rehearsal passed" and "Rollback rehearsal passed" by a passed rehearsal on record, "Alert
channel works" by a delivered Send test. Nobody ticks them by hand; the first evidence
ticks them, as the system, with who supplied it; the policy file says which checks."""

from __future__ import annotations

import importlib
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from checklists.evidence import programme_evidence_tick
from checklists.models import Checklist, ChecklistItem, ChecklistTemplate, Evidence, TemplateItem
from checklists.services import checklist_item_tick, programme_checklist_ensure
from core.errors import RuleViolation
from core.when import when_text
from notifications.models import Channel
from notifications.signals import channel_test_delivered
from operations.services import rehearsal_record
from policy.parse.checker import Checker, Known
from policy.parse.checklists import checklists_parse
from policy.schema import PolicyError, policy_parse
from policy.services import policy_apply
from releases.models import Product

from ..releases.factories import ProductFactory
from .factories import ChecklistTemplateFactory, TemplateItemFactory, TemplateSectionFactory

pytestmark = pytest.mark.django_db
TITLES = {
    "alert_channel": "Alert channel works",
    "release_rehearsal": "Release rehearsal passed",
    "rollback_rehearsal": "Rollback rehearsal passed",
}


def programme(products: list[Product] | None = None) -> Checklist:
    """A programme with the three evidence checks and one ticked by hand."""
    template = ChecklistTemplateFactory(key="programme-setup", kind="programme", products=products or [])
    section = TemplateSectionFactory(template=template, title="Week 3")
    for evidence, title in TITLES.items():
        owner = Role.QA if evidence == "release_rehearsal" else Role.DEVOPS
        TemplateItemFactory(section=section, title=title, owner_role=owner, evidence=evidence)
    TemplateItemFactory(section=section, title="Runbook and contacts documented", owner_role=Role.DEVOPS)
    return programme_checklist_ensure(template=template)


def item(title: str) -> ChecklistItem:
    return ChecklistItem.objects.get(checklist__kind="programme", title=title)


@pytest.fixture
def people(make_user: Any) -> Any:
    class People:
        qa = make_user(Role.QA, username="qa")
        devops = make_user(Role.DEVOPS, username="devops")
        pm = make_user(Role.PM, username="pm")

    return People


def rehearse(product: Product, kind: str, actor: Any, **given: Any) -> Any:
    values = {"performed_on": timezone.localdate(), "minutes": 42, "outcome": "passed", **given}
    return rehearsal_record(product=product, kind=kind, actor=actor, **values)


def test_the_copy_keeps_what_ticks_each_check() -> None:
    programme()
    assert {i.title: i.evidence for i in ChecklistItem.objects.all()} == {
        **{title: evidence for evidence, title in TITLES.items()},
        "Runbook and contacts documented": "",
    }


@pytest.mark.parametrize("evidence", list(TITLES))
def test_nobody_ticks_an_evidence_check_by_hand(evidence: str, people: Any) -> None:
    programme()
    check = item(TITLES[evidence])
    for actor in (people.qa, people.devops, people.pm):
        for state in ("passed", "open", "n/a"):
            with pytest.raises(RuleViolation) as refused:
                checklist_item_tick(item=check, state=state, actor=actor)
            assert refused.value.code == "ticked_by_evidence"
    how = Evidence(evidence).label
    assert refused.value.message == f"“{TITLES[evidence]}” is {how}, not by hand."
    check.refresh_from_db()
    assert check.state == "open" and not AuditEvent.objects.filter(action="checklist_item.tick").exists()
    # The other checks are still ticked by their role.
    checklist_item_tick(item=item("Runbook and contacts documented"), state="passed", actor=people.devops)


def test_the_dashboard_says_what_ticks_it_instead_of_a_button(people: Any, client: Client) -> None:
    programme()
    ProductFactory()
    client.force_login(people.devops)
    html = client.get(reverse("board:dashboard")).content.decode()
    rows = {
        i.title: html.split(f'id="programme-item-{i.pk}"', 1)[1].split("</li>", 1)[0]
        for i in ChecklistItem.objects.all()
    }
    assert "ticked when a passed rollback rehearsal is recorded" in rows["Rollback rehearsal passed"]
    assert "ticked when an alert channel&#x27;s Send test is delivered" in rows["Alert channel works"]
    for title in TITLES.values():
        assert "<form" not in rows[title]
    assert "<form" in rows["Runbook and contacts documented"]  # DevOps approves this one
    # A forged approval is refused with the same words.
    check = item("Rollback rehearsal passed")
    response = client.post(
        reverse("checklists:programme_approve", kwargs={"pk": check.pk}),
        {"state": "passed", "revision": check.revision},
        follow=True,
    )
    assert "is ticked when a passed rollback rehearsal is recorded, not by hand." in response.content.decode()
    check.refresh_from_db()
    assert check.state == "open"


def test_a_passed_rehearsal_ticks_its_check_as_the_system(people: Any) -> None:
    programme()
    product = ProductFactory(slug="ios-app")
    day = timezone.localdate() - timedelta(days=1)
    rehearse(product, "release", people.qa, performed_on=day, minutes=42)
    check = item("Release rehearsal passed")
    assert (check.state, check.ticked_by) == ("passed", people.qa)
    assert check.note == f"release rehearsal {day.isoformat()} (ios-app), 42 min, by qa"
    event = AuditEvent.objects.get(action="checklist_item.evidence_tick", object_id=str(check.pk))
    assert (event.actor, event.actor_label) == (None, "system")
    assert (event.before["state"], event.after["state"], event.after["evidence"]) == (
        "open",
        "passed",
        "release_rehearsal",
    )
    assert item("Rollback rehearsal passed").state == "open"  # another kind
    assert item("Runbook and contacts documented").state == "open"
    rehearse(product, "rollback", people.devops, minutes=11)
    rollback = item("Rollback rehearsal passed")
    assert (rollback.state, rollback.ticked_by) == (
        "passed",
        people.devops,
    ) and "11 min, by devops" in rollback.note


def test_a_failed_rehearsal_ticks_nothing_and_the_first_pass_is_kept(people: Any) -> None:
    programme()
    product = ProductFactory(slug="api")
    rehearse(product, "rollback", people.devops, outcome="failed")
    assert item("Rollback rehearsal passed").state == "open"
    rehearse(product, "rollback", people.devops, minutes=12)
    first = item("Rollback rehearsal passed")
    other = ProductFactory(slug="web")
    rehearse(other, "rollback", people.devops, minutes=7)
    kept = item("Rollback rehearsal passed")
    assert (kept.note, kept.ticked_at, kept.revision) == (first.note, first.ticked_at, first.revision)
    assert "(api), 12 min" in kept.note
    assert AuditEvent.objects.filter(action="checklist_item.evidence_tick").count() == 1


def test_only_a_product_the_programme_covers_ticks_it(people: Any) -> None:
    covered, other = ProductFactory(slug="ios-app"), ProductFactory(slug="api")
    programme(products=[covered])
    rehearse(other, "release", people.qa)
    assert item("Release rehearsal passed").state == "open"
    rehearse(covered, "release", people.qa)
    assert item("Release rehearsal passed").state == "passed"


def test_a_delivered_send_test_ticks_alert_channel_works(people: Any) -> None:
    programme()
    channel = Channel.objects.create(slug="ops-slack", kind="slack", url_env="GONOGO_SLACK_OPS_URL")
    channel_test_delivered.send(sender=Channel, channel=channel, delivery=None, by=None, at=timezone.now())
    assert item("Alert channel works").state == "open"  # no person: nothing to say who
    at = timezone.now() - timedelta(minutes=3)
    channel_test_delivered.send(sender=Channel, channel=channel, delivery=None, by=people.devops, at=at)
    check = item("Alert channel works")
    when = when_text(at)  # "2026-12-01 16:05 UTC": times say their zone
    assert (check.state, check.ticked_by) == ("passed", people.devops)
    assert check.note == f"test alert delivered to ops-slack at {when}, sent by devops"
    channel_test_delivered.send(
        sender=Channel, channel=channel, delivery=None, by=people.pm, at=timezone.now()
    )
    assert item("Alert channel works").ticked_by == people.devops  # the first is kept


def test_no_programme_no_tick_and_unknown_evidence_is_refused(people: Any) -> None:
    rehearse(ProductFactory(), "release", people.qa)  # no programme checklist: nothing to tick
    assert not ChecklistItem.objects.exists()
    with pytest.raises(RuleViolation):
        programme_evidence_tick(evidence="", by=people.qa, note="x")


# --- The policy file ---------------------------------------------------------------------


def checklist_entry(kind: str, evidence: Any) -> dict[str, Any]:
    return {
        "key": "p",
        "name": "P",
        "kind": kind,
        "sections": [
            {"title": "Week 3", "items": [{"title": "Release rehearsal passed", "evidence": evidence}]}
        ],
    }


def test_the_policy_file_says_which_checks_evidence_ticks() -> None:
    (spec,) = checklists_parse(
        Checker(), [checklist_entry("programme", "release_rehearsal")], Known(set(), set())
    )
    assert spec.sections[0].items[0].evidence == "release_rehearsal"
    for kind, evidence, problem in (
        (
            "programme",
            "a_click",
            "“a_click” is not one of: alert_channel, release_rehearsal, rollback_rehearsal",
        ),
        ("release", "release_rehearsal", "only programme checks are ticked by evidence"),
        ("programme", 1, "must be"),
    ):
        c = Checker()
        assert checklists_parse(c, [checklist_entry(kind, evidence)], Known(set(), set())) == ()
        assert any(problem in p.reason for p in c.problems), (kind, evidence, c.problems)


POLICY = textwrap.dedent(
    """
    [[checklists]]
    key = "programme-setup"
    name = "Programme"
    kind = "programme"
    [[checklists.sections]]
    title = "Week 3"
    [[checklists.sections.items]]
    title = "Release rehearsal passed"
    owner_role = "qa"
    evidence = "{evidence}"
    """
)


def test_applying_sets_the_evidence_and_a_change_is_audited() -> None:
    policy_apply(policy_parse(POLICY.format(evidence="release_rehearsal")))
    template_item = TemplateItem.objects.get(title="Release rehearsal passed")
    assert template_item.evidence == "release_rehearsal"
    assert policy_apply(policy_parse(POLICY.format(evidence="release_rehearsal"))) == []
    changes = policy_apply(policy_parse(POLICY.format(evidence="rollback_rehearsal")))
    assert any("evidence: 'release_rehearsal' → 'rollback_rehearsal'" in c for c in changes)
    with pytest.raises(PolicyError):
        policy_parse(POLICY.format(evidence="clicks"))


def test_the_default_policy_ticks_its_three_checks_by_evidence() -> None:
    path = Path(__file__).resolve().parents[2] / "policy" / "defaults.toml"
    policy_apply(policy_parse(path.read_text(encoding="utf-8")))
    template = ChecklistTemplate.objects.get(key="programme-setup")
    evidence = dict(TemplateItem.objects.filter(section__template=template).values_list("title", "evidence"))
    assert {t: e for t, e in evidence.items() if e} == {title: e for e, title in TITLES.items()}


def test_checks_kept_before_the_upgrade_get_their_evidence() -> None:
    programme()
    ChecklistItem.objects.update(evidence="")
    TemplateItem.objects.update(evidence="")
    release_template = ChecklistTemplateFactory(kind="release")
    TemplateItemFactory(
        section=TemplateSectionFactory(template=release_template), title="Alert channel works"
    )
    migration = importlib.import_module("checklists.migrations.0004_item_evidence")
    migration.default_evidence(apps, None)
    assert {i.title: i.evidence for i in ChecklistItem.objects.filter(evidence__gt="")} == {
        title: evidence for evidence, title in TITLES.items()
    }
    assert (
        TemplateItem.objects.get(section__template=release_template).evidence == ""
    )  # release checklists: never
