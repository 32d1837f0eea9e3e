"""Operations kept in the app (issue 14, item 6): who records which rehearsal (QA a
release rehearsal, DevOps a rollback rehearsal, of that product), the runbook link and
on-call contacts that DevOps keeps, each with when it was last reviewed; and the reads
the product page and the board show them with."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from core.errors import NotAllowed, RuleViolation
from operations.models import OnCallContact, Rehearsal
from operations.selectors import last_rehearsals, oncall_rows, review_overdue
from operations.services import oncall_review, oncall_set, rehearsal_record, runbook_set
from operations.signals import rehearsal_recorded

from ..accounts.factories import UserFactory
from ..releases.factories import ProductFactory
from .factories import OnCallContactFactory, RehearsalFactory

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def record(product: Any, kind: str, actor: Any, **given: Any) -> Rehearsal:
    values = {"performed_on": TODAY(), "minutes": 9, "outcome": "passed", **given}
    return rehearsal_record(product=product, kind=kind, actor=actor, **values)


# --- Who records which rehearsal ------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role.values))
@pytest.mark.parametrize("kind", ["release", "rollback"])
def test_qa_records_release_rehearsals_and_devops_rollback_rehearsals(role: str, kind: str) -> None:
    product = ProductFactory()
    actor = UserFactory(roles=(role,), product=product)
    allowed = (role, kind) in {("qa", "release"), ("devops", "rollback")}
    if allowed:
        assert record(product, kind, actor).recorded_by == actor
        return
    with pytest.raises(NotAllowed) as refused:
        record(product, kind, actor)
    who = "QA" if kind == "release" else "DevOps"
    assert refused.value.message == f"Only {who} of {product.slug} records its {kind} rehearsals."
    assert not Rehearsal.objects.exists() and not AuditEvent.objects.filter(action="rehearsal.record")


def test_a_role_on_another_product_or_no_one_records_nothing() -> None:
    product, other = ProductFactory(), ProductFactory()
    for actor in (UserFactory(roles=(Role.DEVOPS,), product=other), UserFactory(), None):
        with pytest.raises(NotAllowed):
            record(product, "rollback", actor)
    assert not Rehearsal.objects.exists()


def test_recording_a_rehearsal_tells_the_layers_above_in_its_transaction() -> None:
    heard: list[tuple[Any, Any]] = []

    def listener(sender: Any, *, rehearsal: Rehearsal, actor: Any, **kwargs: Any) -> None:
        assert Rehearsal.objects.filter(pk=rehearsal.pk).exists()  # already written
        heard.append((rehearsal, actor))

    rehearsal_recorded.connect(listener, dispatch_uid="test-listener")
    try:
        product = ProductFactory()
        qa = UserFactory(roles=(Role.QA,))
        kept = record(product, "release", qa, outcome="failed")
        with pytest.raises(NotAllowed):
            record(product, "rollback", qa)
    finally:
        rehearsal_recorded.disconnect(dispatch_uid="test-listener")
    assert heard == [(kept, qa)]


# --- The runbook link -------------------------------------------------------------------------


def test_devops_sets_the_runbook_link_audited_before_and_after() -> None:
    product = ProductFactory(runbook_url="https://wiki.example.com/old")
    devops = UserFactory(roles=(Role.DEVOPS,), product=product)
    runbook_set(product=product, url="https://wiki.example.com/new", actor=devops)
    runbook_set(product=product, url="https://wiki.example.com/new", actor=devops)  # unchanged
    product.refresh_from_db()
    assert product.runbook_url == "https://wiki.example.com/new"
    [event] = AuditEvent.objects.filter(action="product.runbook_set")
    assert (event.actor, event.before, event.after) == (
        devops,
        {"runbook_url": "https://wiki.example.com/old"},
        {"runbook_url": "https://wiki.example.com/new"},
    )


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("", "runbook_required"),
        ("   ", "runbook_required"),
        ("javascript:alert(1)", "url_invalid"),
        ("ftp://files.example.com/rb", "url_invalid"),
        ("wiki.example.com/rb", "url_invalid"),
        ("https://example.com/" + "a" * 190, "url_invalid"),
    ],
)
def test_a_runbook_link_must_be_http_or_https(url: str, code: str) -> None:
    product = ProductFactory(runbook_url="https://wiki.example.com/old")
    with pytest.raises(RuleViolation) as refused:
        runbook_set(product=product, url=url, actor=UserFactory(roles=(Role.DEVOPS,)))
    assert (refused.value.code, refused.value.field) == (code, "url")
    assert "https://" in refused.value.message
    product.refresh_from_db()
    assert product.runbook_url == "https://wiki.example.com/old"


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.DEVOPS])
def test_only_devops_sets_the_runbook_link(role: str) -> None:
    product = ProductFactory()
    with pytest.raises(NotAllowed, match="Only DevOps of"):
        runbook_set(product=product, url="https://x.example.com", actor=UserFactory(roles=(role,)))


# --- On-call contacts and their review --------------------------------------------------------


def test_a_new_or_changed_contact_is_reviewed_today_an_unchanged_one_keeps_its_date() -> None:
    product = ProductFactory()
    devops = UserFactory(roles=(Role.DEVOPS,), product=product)
    contact = oncall_set(product=product, role="qa", name="Kim", contact="+82 1", actor=devops)
    assert contact.reviewed_on == TODAY()
    old = TODAY() - timedelta(days=30)
    OnCallContact.objects.filter(pk=contact.pk).update(reviewed_on=old)
    same = oncall_set(product=product, role="qa", name=" Kim ", contact="+82 1", actor_label="policy")
    assert same.reviewed_on == old
    assert AuditEvent.objects.filter(action="oncall.set").count() == 1  # nothing changed: nothing recorded
    moved = oncall_set(product=product, role="qa", name="Kim", contact="+82 2", actor_label="policy")
    assert moved.reviewed_on == TODAY()
    given = oncall_set(product=product, role="qa", name="Kim", contact="+82 2", actor=devops, reviewed_on=old)
    assert given.reviewed_on == old  # a date given is kept (the audit trail says who gave it)


def test_contact_refusals() -> None:
    product = ProductFactory()
    devops = UserFactory(roles=(Role.DEVOPS,), product=product)
    for values, code in (
        ({"name": "", "contact": "x"}, "name_required"),
        ({"name": "Kim", "contact": "  "}, "contact_required"),
        ({"name": "K" * 151, "contact": "x"}, "name_too_long"),
        ({"name": "Kim", "contact": "x" * 256}, "contact_too_long"),
        ({"name": "Kim", "contact": "x", "reviewed_on": TODAY() + timedelta(days=1)}, "date_in_future"),
    ):
        with pytest.raises(RuleViolation) as refused:
            oncall_set(product=product, role="qa", actor=devops, **values)
        assert refused.value.code == code
    for someone in (UserFactory(roles=(Role.PM, Role.QA)), None):
        with pytest.raises(NotAllowed, match="Only DevOps of"):
            oncall_set(product=product, role="qa", name="Kim", contact="x", actor=someone)
    assert not OnCallContact.objects.exists()


def test_mark_reviewed_keeps_the_contact_and_dates_it_today() -> None:
    product = ProductFactory()
    devops = UserFactory(roles=(Role.DEVOPS,), product=product)
    old = TODAY() - timedelta(days=200)
    OnCallContactFactory(product=product, role="devops", name="Choi", contact="@choi", reviewed_on=old)
    contact = oncall_review(product=product, role="devops", actor=devops)
    assert (contact.name, contact.contact, contact.reviewed_on) == ("Choi", "@choi", TODAY())
    event = AuditEvent.objects.get(action="oncall.set")
    assert (event.before["reviewed_on"], event.after["reviewed_on"]) == (str(old), str(TODAY()))
    with pytest.raises(RuleViolation, match="no contact for this role yet"):
        oncall_review(product=product, role="qa", actor=devops)
    with pytest.raises(NotAllowed):
        oncall_review(product=product, role="devops", actor=UserFactory(roles=(Role.QA,)))


# --- Reads ---------------------------------------------------------------------------------------


def test_the_review_rule() -> None:
    today = TODAY()
    assert review_overdue(None, window_days=90, today=today)
    assert not review_overdue(today - timedelta(days=90), window_days=90, today=today)
    assert review_overdue(today - timedelta(days=91), window_days=90, today=today)


def test_contact_rows_for_the_product_page(django_assert_num_queries: Any) -> None:
    product = ProductFactory(contacts_review_days=30)
    OnCallContactFactory(product=product, role="qa", reviewed_on=TODAY())
    OnCallContactFactory(product=product, role="devops", reviewed_on=TODAY() - timedelta(days=31))
    OnCallContactFactory(product=product, role="pm", reviewed_on=None)
    with django_assert_num_queries(1):
        rows = oncall_rows(product, required_roles={"qa", "devops", "backend_lead"}, today=TODAY())
    assert [(r.role, r.state, r.required) for r in rows] == [
        ("pm", "never_reviewed", False),
        ("qa", "reviewed", True),
        ("backend_lead", "missing", True),
        ("devops", "overdue", True),
    ]


def test_the_newest_rehearsal_of_each_kind_in_one_query(django_assert_num_queries: Any) -> None:
    product = ProductFactory()
    RehearsalFactory(product=product, kind="rollback", performed_on=TODAY() - timedelta(days=9))
    newest_rollback = RehearsalFactory(
        product=product, kind="rollback", performed_on=TODAY(), outcome="failed"
    )
    release = RehearsalFactory(product=product, kind="release", performed_on=TODAY() - timedelta(days=20))
    RehearsalFactory(kind="release", performed_on=TODAY())  # another product's
    with django_assert_num_queries(1):
        last = last_rehearsals(product)
    assert last == {"release": release, "rollback": newest_rollback}
    assert last_rehearsals(ProductFactory()) == {"release": None, "rollback": None}
