"""`seed_demo` (CONTRACT §2): the demo world, idempotent."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from accounts.models import RoleMembership
from audit.models import AuditEvent
from board.selectors import release_board
from checklists.models import Defect
from gates.models import Gate
from integrations.models import Integration
from releases.models import Product, Release

pytestmark = pytest.mark.django_db


def test_demo_world_matches_the_contract() -> None:
    call_command("seed_demo", stdout=StringIO())
    for username, role in {
        "pm": "pm",
        "qa": "qa",
        "mobile": "mobile_lead",
        "backend": "backend_lead",
        "devops": "devops",
    }.items():
        user = authenticate(username=username, password="demo")
        assert user is not None, username
        assert RoleMembership.objects.filter(user=user, role=role, product__isnull=True).exists()
    admin = authenticate(username="admin", password="demo")
    assert admin is not None and admin.is_superuser
    assert set(Product.objects.values_list("slug", flat=True)) == {"ios-app", "android-app", "api"}
    assert set(Gate.objects.values_list("key", flat=True)) == {
        "typecheck",
        "contract",
        "e2e-regression",
        "smoke",
        "critical-bugs",
        "core-scenarios",
    }
    github = Integration.objects.get(slug="demo-github")
    assert github.product.slug == "ios-app" and github.provider == "github"
    assert github.secret_env == "GONOGO_DEMO_GITHUB_SECRET"
    assert {github.gate_for(n) for n in ("lint-ios", "pact-verify", "e2e-ios", "smoke-prod")} == {
        "typecheck",
        "contract",
        "e2e-regression",
        "smoke",
    }

    release = Release.objects.get(product__slug="ios-app", version="2.4.0")
    assert (release.build_number, release.branch, release.state) == (1240, "release/2.4.0", "candidate")
    open_defects = Defect.objects.filter(release=release, state="open")
    assert [d.severity for d in open_defects] == ["major"]
    board = release_board(release)
    statuses = {row.gate.key: row.status for row in board.gates}
    assert len(set(statuses.values())) >= 3, statuses
    assert not board.verdict.ready and board.verdict.count >= 3


def test_demo_secret_defaults_only_with_debug_and_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    call_command("seed_demo", stdout=StringIO())
    github = Integration.objects.get(slug="demo-github")
    monkeypatch.delenv("GONOGO_DEMO_GITHUB_SECRET", raising=False)
    assert github.secret() == ""  # DEBUG off (as here): no default (tests/test_settings.py)
    settings.GONOGO_SECRET_DEFAULTS = {"GONOGO_DEMO_GITHUB_SECRET": "demo-secret"}  # what DEBUG on sets
    assert github.secret() == "demo-secret"
    monkeypatch.setenv("GONOGO_DEMO_GITHUB_SECRET", "s3cret")
    assert github.secret() == "s3cret"


def test_running_twice_changes_nothing() -> None:
    call_command("seed_demo", stdout=StringIO())
    counts = {m.__name__: m.objects.count() for m in (Release, Gate, Defect, AuditEvent, RoleMembership)}
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert out.getvalue().strip().endswith("no changes")
    assert counts == {
        m.__name__: m.objects.count() for m in (Release, Gate, Defect, AuditEvent, RoleMembership)
    }
