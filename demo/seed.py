"""Demo data (CONTRACT §2): users, the default policy, and releases that show something real.

Idempotent: the default policy is applied (a second run finds nothing to change), and
users, rehearsals and releases that exist are left alone.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, RoleMembership
from board.decisions import signoff_record
from board.lifecycle import release_create
from checklists.defects import defect_report
from checklists.models import ChecklistItem, ChecklistTemplate, ItemState, Severity
from checklists.services import checklist_item_tick, programme_checklist_ensure
from flags.models import Flag
from flags.services import flags_attach_default
from gates.models import Gate, ResultSource
from gates.services import gate_result_record
from operations.models import HealthSource, Rehearsal, RehearsalKind, SourceKind
from operations.services import rehearsal_record
from policy.schema import policy_load
from policy.services import policy_apply
from releases.models import Product, Release

from .history import seed_history
from .monitoring import demo_queries
from .unleash import DEMO_TOKEN_ENV

if TYPE_CHECKING:
    from django.contrib.auth.models import User

DEFAULT_POLICY = Path(__file__).resolve().parent.parent / "policy" / "defaults.toml"
DEMO_USERS = {
    "pm": Role.PM,
    "qa": Role.QA,
    "mobile": Role.MOBILE_LEAD,
    "backend": Role.BACKEND_LEAD,
    "devops": Role.DEVOPS,
}
ROLE_USERS: dict[str, str] = {str(role): username for username, role in DEMO_USERS.items()}
IOS_COMMIT = "3484a3fb816e0859fd6e1cea078d76385ff50625"
API_COMMIT = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
LABEL = "seed_demo"


def _users() -> dict[str, User]:
    people = get_user_model()
    users: dict[str, User] = {}
    for username, role in DEMO_USERS.items():
        user, created = people.objects.get_or_create(
            username=username, defaults={"first_name": username.title()}
        )
        if created:
            user.set_password(settings.GONOGO_DEMO_PASSWORD)
            user.save()
        RoleMembership.objects.get_or_create(user=user, role=role, product=None)
        users[username] = user
    admin, created = people.objects.get_or_create(
        username="admin", defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"}
    )
    if created:
        admin.set_password(settings.GONOGO_DEMO_PASSWORD)
        admin.save()
    users["admin"] = admin
    return users


def _record(release: Release, key: str, status: str, run: str, summary: str, minutes_ago: int) -> None:
    gate_result_record(
        release=release,
        gate=Gate.objects.get(key=key),
        status=status,
        source=ResultSource.WEBHOOK,
        url=f"https://ci.example.com/runs/{run}",
        summary=summary,
        run_id=run,
        observed_at=timezone.now() - timedelta(minutes=minutes_ago),
        actor_label=LABEL,
    )


def _tick(release: Release, qa: User, passed_titles: set[str], everything: bool = False) -> None:
    items = ChecklistItem.objects.filter(checklist__release=release).order_by("section_position", "position")
    for item in items:
        if everything or item.title in passed_titles:
            checklist_item_tick(item=item, state=ItemState.PASSED, actor=qa)


@transaction.atomic
def seed_demo() -> list[str]:
    """Create the demo world if it is not there yet. Returns what was created."""
    done: list[str] = []
    done += policy_apply(policy_load(DEFAULT_POLICY), actor_label=LABEL)
    users = _users()

    template = ChecklistTemplate.objects.get(key="programme-setup")
    programme = programme_checklist_ensure(template=template)
    if not programme.items.exclude(state=ItemState.OPEN).exists():
        for item in programme.items.order_by("section_position", "position")[:4]:
            # Each check is approved by the demo user holding its approving role.
            actor = users[ROLE_USERS.get(item.owner_role, "pm")]
            checklist_item_tick(item=item, state=ItemState.PASSED, actor=actor)
        done.append("ticked the first programme setup checks")

    today = timezone.localdate()
    for slug, days_ago, minutes in (("ios-app", 20, 12), ("api", 12, 7)):
        product = Product.objects.get(slug=slug)
        if not Rehearsal.objects.filter(product=product, kind=RehearsalKind.ROLLBACK).exists():
            rehearsal_record(
                product=product,
                kind=RehearsalKind.ROLLBACK,
                performed_on=today - timedelta(days=days_ago),
                minutes=minutes,
                outcome="passed",
                actor=users["devops"],
                notes="Rolled the previous build back on staging and timed it.",
            )
            done.append(f"recorded a rollback rehearsal for {slug}")

    ios = Product.objects.get(slug="ios-app")
    if not Release.objects.filter(product=ios, version="2.4.0").exists():
        release = release_create(
            product=ios,
            version="2.4.0",
            build=1240,
            commit=IOS_COMMIT,
            branch="release/2.4.0",
            target_date=today + timedelta(days=2),
            owner=users["pm"],
            actor_label=LABEL,
            state="candidate",
        )
        _record(release, "typecheck", "passed", "lint-5120", "0 errors, 0 warnings", 95)
        _record(release, "contract", "failed", "pact-2291", "131 passed, 1 failed: GET /search", 80)
        _record(release, "e2e-regression", "running", "e2e-7781", "Login flow done, search flow running", 5)
        _tick(
            release,
            users["qa"],
            {
                "Log in with e-mail and password",
                "Log in with a social account",
                "Wrong password shows a clear message",
                "Search by keyword shows results",
                "Fresh install starts without errors",
            },
        )
        defect_report(
            release=release,
            title="Search results flicker when the iPad is rotated",
            severity=Severity.MAJOR,
            actor=users["qa"],
            tracker_url="https://tracker.example.com/IOS-482",
        )
        signoff_record(
            release=release,
            role=Role.MOBILE_LEAD,
            vote="go",
            actor=users["mobile"],
            comment="Build looks good on devices.",
        )
        done.append("created ios-app 2.4.0")

    api = Product.objects.get(slug="api")
    if not Release.objects.filter(product=api, version="1.12.0").exists():
        release = release_create(
            product=api,
            version="1.12.0",
            build=310,
            commit=API_COMMIT,
            branch="release/1.12.0",
            target_date=today + timedelta(days=1),
            owner=users["pm"],
            actor_label=LABEL,
            state="candidate",
        )
        for key, run, summary in (
            ("typecheck", "lint-880", "0 errors"),
            ("contract", "pact-881", "212 passed"),
            ("e2e-regression", "e2e-882", "48 passed"),
        ):
            _record(release, key, "passed", run, summary, 30)
        _tick(release, users["qa"], set(), everything=True)
        for username, role in (("qa", Role.QA), ("backend", Role.BACKEND_LEAD), ("devops", Role.DEVOPS)):
            signoff_record(release=release, role=role, vote="go", actor=users[username], comment="Checked.")
        done.append("created api 1.12.0")

    android = Product.objects.get(slug="android-app")
    if not Release.objects.filter(product=android, version="2.4.0").exists():
        release_create(
            product=android,
            version="2.4.0",
            build=1180,
            branch="release/2.4.0",
            target_date=today + timedelta(days=5),
            owner=users["pm"],
            actor_label=LABEL,
        )
        done.append("created android-app 2.4.0 (draft)")
    done += seed_history(users)
    done += _demo_monitoring()
    done += _demo_flags()
    return done


def _demo_monitoring() -> list[str]:
    """With DEBUG on (`make run`), every demo product reads its rollout health from the
    stand-in Prometheus the app serves itself (demo/monitoring.py), every 30 s, and soaks
    a stage for 2 minutes: a rollout can be tried end to end in a few minutes."""
    if not settings.DEBUG:
        return []
    done = []
    for product in Product.objects.filter(slug__in=("ios-app", "api", "android-app")):
        _source, created = HealthSource.objects.get_or_create(
            product=product,
            kind=SourceKind.PROMETHEUS,
            defaults={
                "url": f"{settings.GONOGO_BASE_URL}/demo/prometheus",
                "interval_seconds": 30,
                "queries": demo_queries(),
            },
        )
        # The policy file sets the soak on every seed; the demo's is short, every time.
        Product.objects.filter(pk=product.pk).update(soak_minutes=2)
        if created:
            done.append(f"{product.slug} reads its health from the demo Prometheus")
    return done


def _demo_flags() -> list[str]:
    """With DEBUG on (`make run`), ios-app has the feature flag `search-v2` at the
    stand-in Unleash the app serves itself (demo/unleash.py), shipped by its releases:
    the board's flags panel and Kill work end to end (docs/flags.md)."""
    if not settings.DEBUG:
        return []
    ios = Product.objects.get(slug="ios-app")
    _flag, created = Flag.objects.get_or_create(
        product=ios,
        key="search-v2",
        defaults={
            "name": "New search",
            "provider": "unleash",
            "url": f"{settings.GONOGO_BASE_URL}/demo/unleash",
            "project": "default",
            "environment": "production",
            "token_env": DEMO_TOKEN_ENV,
            "state": "on",
        },
    )
    if not created:
        return []
    for release in Release.objects.filter(product=ios):
        flags_attach_default(release)
    return ["ios-app has the feature flag search-v2 at the demo Unleash"]
