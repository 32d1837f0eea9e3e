"""checklists.services called directly: ticks and their revision guard, undo, defects
(who may record, resolve and reopen them, each on record), checklist copies and updates
from the template. The pages over them are in test_views.py."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Role
from audit.models import AuditEvent
from checklists.defects import defect_reopen, defect_report, defect_resolve
from checklists.models import Checklist, ChecklistItem, DefectState
from checklists.services import (
    checklist_item_tick,
    checklist_tick_undo,
    checklist_update_from_template,
    checklists_create_for_release,
    programme_checklist_ensure,
)
from core.errors import Conflict, NotAllowed, RuleViolation
from releases.models import Release

from ..accounts.factories import UserFactory
from ..releases.factories import ProductFactory, ReleaseFactory
from .factories import (
    ChecklistFactory,
    ChecklistItemFactory,
    ChecklistTemplateFactory,
    DefectFactory,
    TemplateItemFactory,
    TemplateSectionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def release() -> Release:
    return ReleaseFactory()


@pytest.fixture
def qa(release: Release) -> Any:
    return UserFactory(username="quinn", roles=(Role.QA,), product=release.product)


def item_of(release: Release, **given: Any) -> ChecklistItem:
    checklist = Checklist.objects.filter(release=release).first() or ChecklistFactory(release=release)
    return ChecklistItemFactory(checklist=checklist, **given)


def someone(release: Release, *roles: str, product: Any = None) -> Any:
    return UserFactory(roles=roles, product=product or release.product)


def test_a_tick_records_who_when_and_what_it_replaced(release: Release, qa: Any) -> None:
    item = item_of(release)
    ticked = checklist_item_tick(
        item=item, state="failed", actor=qa, note=" crash ", evidence_url="https://ci.example.com/1"
    )
    assert (ticked.state, ticked.note, ticked.ticked_by, ticked.revision) == ("failed", "crash", qa, 1)
    assert ticked.ticked_at is not None and ticked.evidence_url == "https://ci.example.com/1"
    event = AuditEvent.objects.get(action="checklist_item.tick")
    assert (event.actor, event.release_id) == (qa, release.pk)
    assert (event.before["state"], event.before["revision"], event.before["ticked_by"]) == ("open", 0, None)
    assert (event.after["state"], event.after["revision"], event.after["ticked_by"]) == ("failed", 1, qa.pk)
    reopened = checklist_item_tick(item=item, state="open", actor=qa, expected_revision=1)
    assert (reopened.state, reopened.ticked_by, reopened.ticked_at, reopened.revision) == (
        "open",
        None,
        None,
        2,
    )


def test_a_tick_on_a_stale_revision_is_refused_with_the_current_value(release: Release, qa: Any) -> None:
    item = item_of(release)
    other = someone(release, Role.QA)
    checklist_item_tick(item=item, state="blocked", actor=other, expected_revision=0)
    with pytest.raises(Conflict) as refused:
        checklist_item_tick(item=item, state="passed", actor=qa, expected_revision=0)
    assert refused.value.code == "stale_tick"
    assert refused.value.extra == {
        "current_state": "blocked",
        "current_by": other.username,
        "current_revision": 1,
    }
    item.refresh_from_db()
    assert (item.state, item.ticked_by, item.revision) == ("blocked", other, 1)
    assert AuditEvent.objects.filter(action="checklist_item.tick").count() == 1
    # Without a revision (a script, say), the newest value is replaced as asked.
    assert checklist_item_tick(item=item, state="passed", actor=qa).revision == 2


def test_qa_or_the_items_owner_role_ticks_it(release: Release, qa: Any) -> None:
    backend = item_of(release, owner_role=Role.BACKEND_LEAD)
    qa_item = item_of(release)
    lead = someone(release, Role.BACKEND_LEAD)
    assert checklist_item_tick(item=backend, state="passed", actor=lead).ticked_by == lead
    assert checklist_item_tick(item=backend, state="n/a", actor=qa).ticked_by == qa
    other_product_qa = someone(release, Role.QA, product=ProductFactory())
    for actor, item in ((lead, qa_item), (someone(release, Role.PM), qa_item), (other_product_qa, backend)):
        with pytest.raises(NotAllowed) as refused:
            checklist_item_tick(item=item, state="passed", actor=actor)
        assert refused.value.code == "role_not_held"
    qa_item.refresh_from_db()
    assert (qa_item.state, qa_item.revision) == ("open", 0)


@pytest.mark.parametrize(
    ("given", "code", "field"),
    [
        ({"state": "done"}, "state_invalid", "state"),
        ({"state": "passed", "evidence_url": "javascript:alert(1)"}, "url_invalid", "evidence_url"),
    ],
)
def test_a_bad_tick_is_refused(
    release: Release, qa: Any, given: dict[str, Any], code: str, field: str
) -> None:
    item = item_of(release)
    with pytest.raises(RuleViolation) as refused:
        checklist_item_tick(item=item, actor=qa, **given)
    assert (refused.value.code, refused.value.field) == (code, field)
    item.refresh_from_db()
    assert (item.state, item.revision) == ("open", 0)


def test_undo_takes_back_only_my_own_last_tick(release: Release, qa: Any) -> None:
    mine, theirs = item_of(release), item_of(release)
    other = someone(release, Role.QA)
    checklist_item_tick(item=mine, state="passed", actor=qa, note="ok")
    checklist_item_tick(item=theirs, state="failed", actor=other)
    undone = checklist_tick_undo(release=release, actor=qa)
    assert undone.pk == mine.pk
    assert (undone.state, undone.note, undone.ticked_by, undone.ticked_at, undone.revision) == (
        "open",
        "",
        None,
        None,
        2,
    )
    theirs.refresh_from_db()
    assert (theirs.state, theirs.ticked_by) == ("failed", other)
    event = AuditEvent.objects.get(action="checklist_item.undo")
    assert (event.actor, event.before["state"], event.after["state"]) == (qa, "passed", "open")
    with pytest.raises(Conflict) as refused:  # one step only
        checklist_tick_undo(release=release, actor=qa)
    assert refused.value.code == "nothing_to_undo"


def test_undo_with_no_tick_or_after_someone_changed_it(release: Release, qa: Any) -> None:
    with pytest.raises(Conflict) as nothing:
        checklist_tick_undo(release=release, actor=qa)
    assert nothing.value.code == "nothing_to_undo"
    item = item_of(release)
    checklist_item_tick(item=item, state="passed", actor=qa)
    other = someone(release, Role.QA)
    checklist_item_tick(item=item, state="blocked", actor=other, expected_revision=1)
    with pytest.raises(Conflict) as changed:
        checklist_tick_undo(release=release, actor=qa)
    assert (changed.value.code, changed.value.extra["current_by"]) == ("stale_tick", other.username)


def test_undo_needs_the_role_still_held(release: Release, qa: Any) -> None:
    item = item_of(release)
    checklist_item_tick(item=item, state="passed", actor=qa)
    qa.role_memberships.all().delete()
    former = type(qa).objects.get(pk=qa.pk)  # roles are read once per user object
    with pytest.raises(NotAllowed) as refused:
        checklist_tick_undo(release=release, actor=former)
    assert refused.value.code == "role_not_held"
    item.refresh_from_db()
    assert item.state == "passed"


@pytest.mark.parametrize("role", [Role.QA, Role.MOBILE_LEAD, Role.BACKEND_LEAD])
def test_qa_and_leads_record_resolve_and_reopen_defects(release: Release, role: str) -> None:
    actor = someone(release, role)
    item = item_of(release)
    defect = defect_report(
        release=release, title=" Login crashes ", severity="critical", actor=actor, checklist_item=item
    )
    assert (defect.title, defect.reported_by, defect.reported_via, defect.checklist_item) == (
        "Login crashes",
        actor,
        "",
        item,
    )
    resolved = defect_resolve(defect=defect, actor=actor, resolution=" Fixed in build 1241 ")
    assert (resolved.state, resolved.resolved_by) == (DefectState.RESOLVED, actor)
    assert resolved.resolved_at is not None and resolved.resolution == "Fixed in build 1241"
    reopened = defect_reopen(defect=defect, actor=actor)
    assert (reopened.state, reopened.resolved_by, reopened.resolved_at) == (DefectState.OPEN, None, None)
    assert reopened.resolution == ""  # the trail keeps it
    events = list(AuditEvent.objects.filter(object_id=str(defect.pk)).order_by("id"))
    assert [(e.action, e.actor, e.release_id) for e in events] == [
        ("defect.report", actor, release.pk),
        ("defect.resolve", actor, release.pk),
        ("defect.reopen", actor, release.pk),
    ]
    assert events[0].after == {"title": "Login crashes", "severity": "critical"}
    resolution = {"resolution": "Fixed in build 1241"}
    assert (events[1].before, events[1].after) == ({"state": "open"}, {"state": "resolved", **resolution})
    assert (events[2].before, events[2].after) == ({"state": "resolved", **resolution}, {"state": "open"})


@pytest.mark.parametrize("resolution", ["", "   "])
def test_a_critical_defect_is_resolved_only_with_how(release: Release, qa: Any, resolution: str) -> None:
    """One click and no word is not enough for what blocks Go: the resolution is asked
    for (a system's too), and nothing changes without it. A minor one may go without."""
    critical = defect_report(release=release, title="Crash", severity="critical", actor=qa)
    for actor, label in ((qa, ""), (None, "token:jira")):
        with pytest.raises(RuleViolation) as refused:
            defect_resolve(defect=critical, actor=actor, actor_label=label, resolution=resolution)
        assert (refused.value.code, refused.value.field) == ("resolution_required", "resolution")
        assert "critical" in refused.value.message
    critical.refresh_from_db()
    assert (critical.state, critical.resolved_by, critical.resolution) == (DefectState.OPEN, None, "")
    assert not AuditEvent.objects.filter(action="defect.resolve").exists()
    minor = defect_report(release=release, title="Typo", severity="minor", actor=qa)
    assert defect_resolve(defect=minor, actor=qa, resolution=resolution).state == DefectState.RESOLVED
    with pytest.raises(RuleViolation) as too_long:
        defect_resolve(defect=critical, actor=qa, resolution="x" * 2001)
    assert too_long.value.code == "resolution_too_long"


def test_others_may_not_touch_defects(release: Release) -> None:
    defect = DefectFactory(release=release)
    outsiders = [
        someone(release, Role.PM),
        someone(release, Role.DEVOPS),
        someone(release, Role.QA, product=ProductFactory()),
    ]
    for actor in outsiders:
        with pytest.raises(NotAllowed) as refused_report:
            defect_report(release=release, title="x", severity="minor", actor=actor)
        with pytest.raises(NotAllowed) as refused_resolve:
            defect_resolve(defect=defect, actor=actor)
        assert refused_report.value.code == refused_resolve.value.code == "role_not_held"
    resolved = DefectFactory(release=release, state=DefectState.RESOLVED)
    with pytest.raises(NotAllowed):
        defect_reopen(defect=resolved, actor=outsiders[0])
    assert not AuditEvent.objects.filter(action__startswith="defect.").exists()


def test_a_system_reports_under_its_own_name(release: Release) -> None:
    defect = defect_report(release=release, title="Crash", severity="major", actor_label="token:jira")
    assert (defect.reported_by, defect.reported_via) == (None, "token:jira")
    resolved = defect_resolve(defect=defect, actor=None, actor_label="token:jira")
    assert resolved.resolved_by is None and resolved.resolved_at is not None
    assert resolved.resolved_via == "token:jira"
    labels = AuditEvent.objects.filter(object_id=str(defect.pk)).values_list("actor_label", flat=True)
    assert set(labels) == {"token:jira"}


def test_resolving_twice_or_reopening_an_open_defect_is_a_conflict(release: Release, qa: Any) -> None:
    defect = DefectFactory(release=release)
    with pytest.raises(Conflict) as open_already:
        defect_reopen(defect=defect, actor=qa)
    assert open_already.value.code == "already_open"
    defect_resolve(defect=defect, actor=qa)
    with pytest.raises(Conflict) as resolved_already:
        defect_resolve(defect=defect, actor=qa)
    assert resolved_already.value.code == "already_resolved"
    assert AuditEvent.objects.filter(action="defect.resolve").count() == 1


@pytest.mark.parametrize(
    ("given", "code", "field"),
    [
        ({"title": "  ", "severity": "major"}, "field_required", "title"),
        ({"title": "Crash", "severity": "blocker"}, "severity_invalid", "severity"),
        ({"title": "Crash", "severity": "major", "tracker_url": "ftp://x"}, "url_invalid", "tracker_url"),
    ],
)
def test_a_bad_defect_is_refused(
    release: Release, qa: Any, given: dict[str, Any], code: str, field: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        defect_report(release=release, actor=qa, **given)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert not release.defects.exists()


def test_copies_for_a_release_are_made_once_from_its_products_templates(release: Release) -> None:
    for_all = ChecklistTemplateFactory(key="smoke")
    TemplateItemFactory(section=TemplateSectionFactory(template=for_all), title="Opens")
    ours = ChecklistTemplateFactory(key="ours", products=[release.product])
    ChecklistTemplateFactory(key="theirs", products=[ProductFactory()])
    ChecklistTemplateFactory(key="programme", kind="programme")
    created = checklists_create_for_release(release=release)
    assert {c.template.key for c in created} == {"smoke", "ours"}
    assert checklists_create_for_release(release=release) == []  # safe to call twice
    copy = release.checklists.get(template=for_all)
    assert list(copy.items.values_list("title", flat=True)) == ["Opens"]
    events = AuditEvent.objects.filter(action="checklist.create", release_id=release.pk)
    assert {e.after["template"]: e.after["items"] for e in events} == {"smoke": 1, "ours": 0}
    assert ours.checklists.count() == 1


def test_the_programme_checklist_is_made_once() -> None:
    template = ChecklistTemplateFactory(key="programme", kind="programme")
    TemplateItemFactory(section=TemplateSectionFactory(template=template), title="Criteria agreed")
    first = programme_checklist_ensure(template=template)
    assert programme_checklist_ensure(template=template) == first and first.release is None
    assert list(first.items.values_list("title", flat=True)) == ["Criteria agreed"]
    assert AuditEvent.objects.filter(action="checklist.create").count() == 1


def test_update_from_template_keeps_ticked_items_and_says_what_it_did(release: Release, qa: Any) -> None:
    template = ChecklistTemplateFactory(key="qa", products=[release.product])
    section = TemplateSectionFactory(template=template, title="Main")
    kept, dropped, reworded = (
        TemplateItemFactory(section=section, title=t) for t in ("Kept", "Dropped", "Old")
    )
    checklist = checklists_create_for_release(release=release)[0]
    ticked = checklist.items.get(title="Kept")
    checklist_item_tick(item=ticked, state="failed", actor=qa, note="seen on iOS 17")
    kept.delete()
    dropped.delete()
    reworded.title = "New wording"
    reworded.save()
    TemplateItemFactory(section=section, title="Added")
    pm = someone(release, Role.PM)
    changes = checklist_update_from_template(checklist=checklist, actor=pm)
    assert {(c.kind, c.title) for c in changes} == {
        ("kept", "Kept"),
        ("removed", "Dropped"),
        ("changed", "New wording"),
        ("added", "Added"),
    }
    items = {i.title: i for i in checklist.items.all()}
    assert set(items) == {"Kept", "New wording", "Added"}
    assert (items["Kept"].state, items["Kept"].note, items["Kept"].ticked_by) == (
        "failed",
        "seen on iOS 17",
        qa,
    )
    event = AuditEvent.objects.get(action="checklist.update_from_template")
    assert (event.actor, event.release_id) == (pm, release.pk)
    assert event.after == {
        "added": ["Added"],
        "changed": ["New wording"],
        "removed": ["Dropped"],
        "kept": ["Kept"],
    }


def test_only_qa_or_the_pm_updates_a_release_checklist_from_its_template(release: Release) -> None:
    checklist = ChecklistFactory(release=release)
    TemplateItemFactory(section=TemplateSectionFactory(template=checklist.template), title="New")
    for role in (Role.BACKEND_LEAD, Role.MOBILE_LEAD, Role.DEVOPS):
        with pytest.raises(NotAllowed) as refused:
            checklist_update_from_template(checklist=checklist, actor=someone(release, role))
        assert refused.value.code == "role_not_held"
    programme = ChecklistFactory(programme=True)
    with pytest.raises(NotAllowed):
        checklist_update_from_template(checklist=programme, actor=someone(release, Role.QA))
    assert not checklist.items.exists()
    assert not AuditEvent.objects.filter(action="checklist.update_from_template").exists()
