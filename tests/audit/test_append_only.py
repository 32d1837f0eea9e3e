"""The audit trail is append-only, and every service writes its event in its own transaction."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent
from audit.services import audit_record
from board.lifecycle import release_create

from ..releases.factories import ProductFactory


def test_update_and_delete_are_refused_on_postgresql(postgres: None) -> None:
    product = ProductFactory()
    release_create(product=product, version="1.0.0", build=1)
    event = AuditEvent.objects.get(action="release.create")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="release.forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE audit_auditevent SET actor_label = 'someone else'")
    event.refresh_from_db()
    assert event.action == "release.create"


@pytest.mark.django_db(transaction=True)
def test_audit_record_refuses_to_run_outside_a_transaction() -> None:
    product = ProductFactory()
    with pytest.raises(RuntimeError):
        audit_record(actor=None, action="x", obj=product)


@pytest.mark.django_db
def test_the_event_rolls_back_with_its_change() -> None:
    """A change that fails after its audit event was written leaves neither behind."""
    product = ProductFactory()
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        release_create(product=product, version="1.0.0", build=5)
        assert AuditEvent.objects.count() == before + 1
        raise RuntimeError("the caller's transaction fails later")
    assert AuditEvent.objects.count() == before
    assert not product.releases.exists()


@pytest.mark.django_db
def test_event_records_who_what_and_before_after(make_user: Any) -> None:
    from tests.releases.builders import build_world

    world = build_world(make_user, ready=False)
    from releases.lifecycle import release_cancel

    release_cancel(release=world.release, actor=world.pm, reason="Superseded")
    event = AuditEvent.objects.filter(action="release.cancel").get()
    assert event.actor == world.pm and event.actor_label == world.pm.username
    assert event.before["state"] == "candidate" and event.after["state"] == "cancelled"
    assert event.release_id == world.release.pk
