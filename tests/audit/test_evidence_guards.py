"""The record can't be emptied (issue 11, finding 5): on PostgreSQL the audit trail,
decisions, sign-offs and gate results refuse UPDATE, DELETE and TRUNCATE."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from audit.models import AuditEvent
from board.decisions import release_decide
from gates.models import GateResult
from releases.models import Decision, Release, SignOff

from ..releases.builders import build_world

TABLES = ["audit_auditevent", "releases_decision", "releases_signoff", "gates_gateresult"]


@pytest.fixture
def decided(postgres: None, make_user: Any) -> Any:
    world = build_world(make_user)
    release_decide(release=world.release, outcome="go", actor=world.pm)
    assert Decision.objects.exists() and SignOff.objects.exists() and GateResult.objects.exists()
    return world


def refused(sql: str) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        # The test's inserts left deferred foreign-key checks pending, and PostgreSQL
        # will not TRUNCATE a table with pending trigger events: run them first.
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute(sql)


@pytest.mark.parametrize("table", TABLES)
def test_truncate_is_refused(decided: Any, table: str) -> None:
    refused(f"TRUNCATE {table} CASCADE")
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")
        assert cur.fetchone()[0] > 0


@pytest.mark.parametrize("table", TABLES)
def test_delete_is_refused(decided: Any, table: str) -> None:
    refused(f"DELETE FROM {table}")


@pytest.mark.parametrize(
    ("table", "assignment"),
    [
        ("audit_auditevent", "actor_label = 'someone else'"),
        ("releases_decision", "outcome = 'go', rationale = 'forged'"),
        ("releases_signoff", "vote = 'go'"),
        ("releases_signoff", "evidence_fingerprint = 'forged'"),
        ("gates_gateresult", "status = 'passed'"),
    ],
)
def test_update_is_refused(decided: Any, table: str, assignment: str) -> None:
    refused(f"UPDATE {table} SET {assignment}")


def test_orm_deletes_are_refused_and_nothing_is_lost(decided: Any) -> None:
    counts = (SignOff.objects.count(), Decision.objects.count(), GateResult.objects.count())
    for queryset in (SignOff.objects.all(), Decision.objects.all(), GateResult.objects.all()):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            queryset.delete()
    # Deleting a release would cascade to its evidence: refused too.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Release.objects.filter(pk=decided.release.pk).delete()
    assert (SignOff.objects.count(), Decision.objects.count(), GateResult.objects.count()) == counts
    assert Release.objects.filter(pk=decided.release.pk).exists()


def test_the_admin_offers_no_way_to_delete_a_release(decided: Any, client: Any) -> None:
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw"))
    response = client.post(
        reverse("admin:releases_release_delete", args=[decided.release.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert Release.objects.filter(pk=decided.release.pk).exists()


def test_owner_maintenance_lets_the_test_suite_flush(decided: Any) -> None:
    """The one way through, used by tests/conftest.py before pytest-django's flush: the
    tables' owner with gonogo.maintenance on. (An app role that does not own the tables
    gets nothing from the setting: tests/audit/test_db_grant.py.)"""
    with pytest.raises(RuntimeError), transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute("SET LOCAL gonogo.maintenance = 'on'")
            cur.execute("DELETE FROM gates_gateresult")
            cur.execute("TRUNCATE audit_auditevent")
        assert not GateResult.objects.exists() and not AuditEvent.objects.exists()
        raise RuntimeError("roll back")
    assert GateResult.objects.exists() and AuditEvent.objects.exists()
    refused("DELETE FROM gates_gateresult")  # and off again outside that transaction
