"""Every page: anonymous → login, no role → 403, a role → 200, plus its htmx fragment.

`PERMISSIONS` lists every URL name of the app; the walk below fails when a new URL is
added without a row here, so no view ships without its permission tested. Each row's roles
are those holding the capability its view needs (tests/accounts/test_capabilities.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.html import escape

from accounts.capabilities import Capability
from accounts.models import Role
from audit.models import AuditEvent
from board.meetings import meeting_start
from board.selectors import release_board
from checklists.defects import defect_report
from checklists.models import ChecklistItem
from flags.models import Flag
from gates.models import Gate
from gates.services import gate_result_record, waiver_request
from notifications.models import Channel
from reviews.models import ActionItem

from .accounts.test_capabilities import may
from .releases.builders import build_world
from .releases.factories import ProductFactory

# Sign-in: the login page, logout, and single sign-on's start, callback and logout (off → 404).
PUBLIC = {
    "accounts:login",
    "accounts:logout",
    "set_language",
    "oidc_authentication_init",
    "oidc_authentication_callback",
    "oidc_logout",
    # Slack's interactivity Request URL: no session, its own HMAC (tests/slack/test_interactions.py).
    "slack:interactions",
}
C = Capability
VIEWERS = may(C.VIEW)
SIGNS_AS_QA = may(C.SIGN_OFF, acting_as=Role.QA)
PM_CHECK = may(C.APPROVE_PROGRAMME_ITEM, acting_as=Role.PM)  # who approves a PM/PO-owned check
# The programme setup checklist belongs to no product: its role held for every product it
# covers approves (tests/checklists/test_programme_roles.py).
NOT_PER_PRODUCT = {
    "checklists:programme_approve",
    # The weekly review spans products: anyone with a role takes part (each sees only the
    # products they may read).
    "reviews:week",
    "reviews:minutes",
    "reviews:save",
    "reviews:action_update",  # an action item from no product's failure
    "reviews:timer",
    "reviews:trends",
    "reviews:csv",
}


def release_kwargs(w: Any) -> dict[str, str]:
    return {"product": w.product.slug, "version": w.release.version}


# url name → (method, URL kwargs, POST data, roles that may use it). "stream" is an SSE GET.
PERMISSIONS: dict[str, tuple[str, Any, Any, set[str]]] = {
    "accounts:preferences": ("get", lambda w: {}, None, VIEWERS),
    "accounts:time_zone_update": ("post", lambda w: {}, lambda w: {"time_zone": "Asia/Seoul"}, VIEWERS),
    "board:dashboard": ("get", lambda w: {}, None, VIEWERS),
    "board:release_board": ("get", release_kwargs, None, VIEWERS),
    "board:meeting": ("get", release_kwargs, None, VIEWERS),
    "board:meeting_minutes": ("get", release_kwargs, None, VIEWERS),
    "board:release_events": ("stream", lambda w: {"release_id": w.release.pk}, None, VIEWERS),
    "board:dashboard_events": ("stream", lambda w: {}, None, VIEWERS),
    "board:review_events": ("stream", lambda w: {}, None, VIEWERS),
    "board:signoff_create": ("post", release_kwargs, lambda w: {"role": "qa", "vote": "go"}, SIGNS_AS_QA),
    "board:release_decide": (
        "post",
        release_kwargs,
        lambda w: {"outcome": "no_go", "rationale": "Not yet"},
        may(C.DECIDE),
    ),
    # A draft becomes a candidate: a PM/PO, or the release's owner (tests/board/test_promote.py).
    "board:release_promote": ("post", release_kwargs, lambda w: {}, may(C.PROMOTE)),
    "board:meeting_start": ("post", release_kwargs, lambda w: {}, may(C.RUN_MEETING)),
    "board:meeting_update": (
        "post",
        lambda w: {**release_kwargs(w), "pk": w.meeting.pk},
        lambda w: {"notes": "n"},
        may(C.RUN_MEETING),
    ),
    "board:waiver_create": (
        "post",
        lambda w: {**release_kwargs(w), "gate": w.gates[0].key},
        lambda w: {"reason": "r", "risk": "r", "mitigation": "m"},
        may(C.ASK_WAIVER),
    ),
    "board:waiver_approve": ("post", lambda w: {"pk": w.waiver.pk}, lambda w: {}, may(C.APPROVE_WAIVER)),
    # Ask in Slack (slack/views.py): without a channel it is refused with a 409, past the role check.
    "slack:ask": ("post", release_kwargs, lambda w: {}, may(C.ASK_IN_SLACK)),
    "checklists:checklist": ("get", release_kwargs, None, VIEWERS),
    "checklists:report": ("get", lambda w: {**release_kwargs(w), "fmt": "csv"}, None, VIEWERS),
    "checklists:template_update": (
        "get",
        lambda w: {**release_kwargs(w), "pk": w.item.checklist_id},
        None,
        VIEWERS,
    ),
    "checklists:item_tick": (
        "post",
        lambda w: {**release_kwargs(w), "pk": w.item.pk},
        lambda w: {"state": "passed"},
        may(C.TICK_ANY_ITEM) | may(C.TICK_OWN_ITEM, acting_as=Role.QA),  # the items are QA's
    ),
    "checklists:tick_undo": ("post", release_kwargs, lambda w: {}, may(C.UNDO_TICK)),
    "checklists:defect_create": (
        "post",
        release_kwargs,
        lambda w: {"title": "t", "severity": "minor"},
        may(C.REPORT_DEFECT),
    ),
    "checklists:defect_resolve": ("post", lambda w: {"pk": w.defect.pk}, lambda w: {}, may(C.RESOLVE_DEFECT)),
    "checklists:defect_reopen": ("post", lambda w: {"pk": w.defect.pk}, lambda w: {}, may(C.RESOLVE_DEFECT)),
    "checklists:programme_approve": ("post", lambda w: {"pk": w.programme_item.pk}, lambda w: {}, PM_CHECK),
    "reviews:current": ("get", lambda w: {}, None, VIEWERS),
    "reviews:week": ("get", lambda w: {"year": 2026, "week": 47}, None, VIEWERS),
    "reviews:minutes": ("get", lambda w: {"year": 2026, "week": 47}, None, VIEWERS),
    # Changed by its PM/PO, or by attendees holding a role (tests/reviews/test_review_roles.py).
    "reviews:save": ("post", lambda w: {"year": 2026, "week": 47}, lambda w: {"q1": "n"}, may(C.EDIT_REVIEW)),
    "reviews:action_create": ("post", lambda w: {}, lambda w: {"title": "Fix it"}, VIEWERS),
    "reviews:timer": ("post", lambda w: {"year": 2026, "week": 47}, None, may(C.EDIT_REVIEW)),
    "reviews:trends": ("get", lambda w: {"year": 2026, "week": 47}, None, VIEWERS),
    "reviews:csv": ("get", lambda w: {"year": 2026, "week": 47}, None, VIEWERS),
    "reviews:rehearsal_create": (
        "post",
        lambda w: {},
        lambda w: {
            "product": w.product.slug,
            "kind": "rollback",
            "performed_on": "2026-11-02",
            "minutes": "9",
            "outcome": "passed",
        },
        may(C.RECORD_ROLLBACK_REHEARSAL),  # a release rehearsal: may(C.RECORD_RELEASE_REHEARSAL)
    ),
    # The product page: its history and operations (tests/board/test_product_page.py).
    "board:product_page": ("get", lambda w: {"slug": w.product.slug}, None, VIEWERS),
    "board:runbook_update": (
        "post",
        lambda w: {"slug": w.product.slug},
        lambda w: {"url": "https://wiki.example.com/new-runbook"},
        may(C.EDIT_OPERATIONS),
    ),
    "board:oncall_update": (
        "post",
        lambda w: {"slug": w.product.slug},
        lambda w: {"role": "devops", "name": "Dana", "contact": "+82 10 5555"},
        may(C.EDIT_OPERATIONS),
    ),
    "board:rehearsal_record": (
        "post",
        lambda w: {"slug": w.product.slug},
        lambda w: {"kind": "rollback", "performed_on": "2026-11-02", "minutes": "9", "outcome": "passed"},
        may(C.RECORD_ROLLBACK_REHEARSAL),  # a release rehearsal: may(C.RECORD_RELEASE_REHEARSAL)
    ),
    "board:release_rollout": ("post", release_kwargs, lambda w: {"step": "finish"}, may(C.ADVANCE_ROLLOUT)),
    # App Store phased release (stores/, tests/stores/test_appstore_board.py): DevOps.
    "board:release_appstore": ("post", release_kwargs, lambda w: {"step": "pause"}, may(C.ADVANCE_ROLLOUT)),
    # Google Play (stores/): without a Play source both answer 409 (nothing to read or retry).
    "board:play_read": ("post", release_kwargs, lambda w: {}, may(C.ADVANCE_ROLLOUT)),
    "board:play_retry": ("post", release_kwargs, lambda w: {}, may(C.ADVANCE_ROLLOUT)),
    "reviews:action_update": ("post", lambda w: {"pk": w.action.pk}, lambda w: {"owner": ""}, VIEWERS),
    "board:waiver_reject": ("post", lambda w: {"pk": w.waiver.pk}, lambda w: {}, may(C.APPROVE_WAIVER)),
    "board:waiver_revoke": ("post", lambda w: {"pk": w.waiver.pk}, lambda w: {}, may(C.REVOKE_WAIVER)),
    "board:waiver_carry_over": (
        "post",
        lambda w: {"pk": w.waiver.pk},
        lambda w: {},
        may(C.CARRY_OVER_WAIVER),
    ),
    # Alert channels: DevOps and PM/PO of the channel's products (tests/notifications/test_views.py).
    # Feature flags (tests/flags/test_board_flags.py): Kill and attach/detach.
    "board:flag_kill": (
        "post",
        lambda w: {**release_kwargs(w), "key": w.flag.key},
        lambda w: {"reason": "Search is broken"},
        may(C.KILL_FLAG),
    ),
    "board:flag_ship": (
        "post",
        lambda w: {**release_kwargs(w), "key": w.flag.key},
        lambda w: {"ships": "0"},
        may(C.MANAGE_FLAGS),
    ),
    "notifications:channels": ("get", lambda w: {}, None, may(C.MANAGE_ALERTS)),
    "notifications:channel": ("get", lambda w: {"slug": w.channel.slug}, None, may(C.MANAGE_ALERTS)),
    "notifications:channel_test": (
        "post",
        lambda w: {"slug": w.channel.slug},
        lambda w: {},
        may(C.MANAGE_ALERTS),
    ),
}


def programme_item() -> ChecklistItem:
    """One programme setup check, approved by the PM/PO."""
    from checklists.models import Checklist, ChecklistTemplate

    template = ChecklistTemplate.objects.create(key="programme", name="Programme", kind="programme")
    checklist = Checklist.objects.create(
        template=template, kind="programme", name="Programme", created_at=timezone.now()
    )
    return ChecklistItem.objects.create(
        checklist=checklist, section="Week 1", title="Criteria approved", owner_role=Role.PM
    )


def all_url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns: list[Any], prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "admin":
                    continue
                walk(p.url_patterns, f"{prefix}{p.namespace}:" if p.namespace else prefix)
            elif isinstance(p, URLPattern) and p.name:
                names.add(prefix + p.name)

    walk(get_resolver().url_patterns, "")
    return names


def test_every_url_is_in_the_permission_matrix() -> None:
    from .api.test_auth import API_ENDPOINTS, OPEN_ENDPOINTS

    missing = all_url_names() - set(PERMISSIONS) - PUBLIC - set(API_ENDPOINTS) - OPEN_ENDPOINTS
    assert not missing, f"add these URL names to PERMISSIONS in {__file__}: {sorted(missing)}"


def call(client: Client, method: str, url: str, data: Any) -> Any:
    if method == "post":
        return client.post(url, data)
    response = client.get(url)
    if method == "stream" and response.status_code == 200:
        # Not closed: closing fires request_finished, which would close the test's connection.
        assert response["Content-Type"] == "text/event-stream" and response.streaming
    return response


def full_world(make_user: Any) -> Any:
    """A release with one of everything a URL can name: a failed gate with a waiver asked,
    a meeting, checklist items, a defect, a programme check, an action item."""
    world = build_world(make_user, ready=False)
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="f")
    world.waiver = waiver_request(
        release=world.release, gate=world.gates[0], actor=world.lead, reason="r", risk="r", mitigation="m"
    )
    world.meeting = meeting_start(release=world.release, actor=world.pm)
    world.item = ChecklistItem.objects.filter(checklist__release=world.release).first()
    world.defect = defect_report(release=world.release, title="d", severity="minor", actor=world.qa)
    world.programme_item = programme_item()
    world.action = ActionItem.objects.create(title="a", created_by=world.pm, created_at=timezone.now())
    world.channel = Channel.objects.create(slug="ops", kind="slack", url_env="GONOGO_TEST_OPS_URL")
    world.channel.products.set([world.product])
    world.flag = Flag.objects.create(
        product=world.product,
        key="search-v2",
        provider="unleash",
        url="http://127.0.0.1:9",
        token_env="GONOGO_TEST_UNLEASH",
    )
    return world


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(PERMISSIONS))
def test_permissions_per_role(name: str, make_user: Any, client: Client) -> None:
    world = full_world(make_user)
    method, kwargs_for, data_for, allowed = PERMISSIONS[name]
    url = reverse(name, kwargs=kwargs_for(world))
    data = data_for(world) if data_for else None

    response = call(client, method, url, data)
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]

    client.force_login(make_user())  # no role at all
    assert call(client, method, url, data).status_code == 403

    for role in Role.values:
        client.force_login(make_user(role, product=world.product))
        status = call(client, method, url, data).status_code
        if role in allowed:
            assert status != 403 and status < 500, (role, url, status)
        else:
            assert status == 403, (role, url, status)

    # Roles on another product only do not open this product's pages.
    if kwargs_for(world) and name not in NOT_PER_PRODUCT:
        outsider = make_user(*Role.values, product=ProductFactory(slug="elsewhere"))
        client.force_login(outsider)
        assert call(client, method, url, data).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    "panel", ["verdict", "gates", "checklist", "defects", "waivers", "signoffs", "decision", "operations"]
)
def test_board_fragments_for_htmx(panel: str, make_user: Any, client: Client) -> None:
    world = build_world(make_user, ready=False)
    client.force_login(world.qa)
    url = reverse("board:release_board", kwargs={"product": world.product.slug, "version": "1.0.0"})
    response = client.get(url, headers={"HX-Request": "true", "HX-Target": panel})
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<section id="{panel}"') and "<html" not in body
    full = client.get(url).content.decode()
    assert "<html" in full and f'id="{panel}"' in full


@pytest.mark.django_db
def test_board_shows_the_verdict_and_each_blocker_links_to_its_cause(make_user: Any, client: Client) -> None:
    world = build_world(make_user, ready=False)
    client.force_login(world.pm)
    html = client.get(
        reverse("board:release_board", kwargs={"product": world.product.slug, "version": "1.0.0"})
    ).content.decode()
    board = release_board(world.release)
    assert f"BLOCKED: {board.verdict.count} reasons" in html
    assert board.verdict.count >= 3
    for blocker in board.verdict.blockers:
        assert escape(blocker.message("en")) in html
    assert 'href="#gate-' in html and 'id="gate-' in html
    assert 'href="#signoff-qa"' in html and 'id="signoff-qa"' in html


@pytest.mark.django_db
def test_korean_for_accept_language_ko(make_user: Any, client: Client) -> None:
    world = build_world(make_user, ready=False)
    client.force_login(world.pm)
    url = reverse("board:release_board", kwargs={"product": world.product.slug, "version": "1.0.0"})
    html = client.get(url, headers={"Accept-Language": "ko"}).content.decode()
    assert '<html lang="ko">' in html and "출시 불가" in html and "차단 사유" in html
    english = client.get(url, headers={"Accept-Language": "en"}).content.decode()
    assert '<html lang="en">' in english and "BLOCKED" in english


@pytest.mark.django_db
def test_csp_header_with_nonce_on_pages(client: Client) -> None:
    response = client.get(reverse("accounts:login"))
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "'nonce-" in csp and "unsafe-inline" not in csp
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in response.content.decode()
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_admin_needs_staff(make_user: Any, client: Client) -> None:
    client.force_login(make_user(Role.PM))
    assert client.get("/admin/").status_code == 302
    admin = make_user(is_staff=True, is_superuser=True)
    client.force_login(admin)
    assert client.get("/admin/").status_code == 200
    for path in (
        "/admin/releases/product/",
        "/admin/gates/gate/",
        "/admin/audit/auditevent/",
        "/admin/checklists/checklisttemplate/",
        "/admin/releases/release/",
        "/admin/auth/user/",
    ):
        assert client.get(path).status_code == 200, path


def queries_for_board(client: Client, world: Any) -> int:
    url = reverse(
        "board:release_board", kwargs={"product": world.product.slug, "version": world.release.version}
    )
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_board_query_count_does_not_grow_with_gates_items_or_events(make_user: Any, client: Client) -> None:
    small = build_world(make_user, gates=5, core_items=3)
    client.force_login(small.pm)
    small_count = queries_for_board(client, small)

    big = build_world(make_user, gates=50, core_items=300)
    events = [
        AuditEvent(
            at=big.release.created_at,
            actor_label="x",
            action="noise",
            object_type="x",
            object_id="1",
            object_repr="x",
            release_id=big.release.pk,
        )
        for _ in range(2000)
    ]
    AuditEvent.objects.bulk_create(events)
    assert Gate.objects.filter(products=big.product).count() == 50
    assert ChecklistItem.objects.filter(checklist__release=big.release).count() == 301
    client.force_login(big.pm)
    assert queries_for_board(client, big) == small_count


# --- Every URL, every method, every role -----------------------------------------------
#
# A method a view does not accept is a 405 naming the accepted ones in `Allow`, for every
# role and for anonymous users too (the method is checked before the login: a wrong method
# is wrong whoever sends it), never a 200, a redirect or a 500. The accepted methods follow
# the role rules above (PERMISSIONS, and for the API tests/api/test_auth.py).

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# URL name → the methods its view accepts, where PERMISSIONS / API_ENDPOINTS do not say.
ACCEPTS: dict[str, set[str]] = {
    "checklists:template_update": {"GET", "POST"},  # POST applies the template (QA, PM/PO)
    "accounts:login": {"GET", "HEAD", "POST"},
    "accounts:logout": {"POST", "OPTIONS"},  # Django's LogoutView: OPTIONS lists the methods
    "set_language": {"POST"},
    "oidc_authentication_init": {"GET"},
    "oidc_authentication_callback": {"GET"},
    "oidc_logout": {"POST"},
    "api:openapi": {"GET"},
    "api:webhook_github": {"POST"},
    "api:webhook_github_app": {"POST"},
    "api:webhook_gitlab": {"POST"},
    "healthz": {"GET", "HEAD"},
    "readyz": {"GET", "HEAD"},
    "slack:interactions": {"POST"},
}
# Accepted methods beyond the one PERMISSIONS tests: (url name, method) → roles allowed.
EXTRA_METHOD_ROLES: dict[tuple[str, str], set[str]] = {
    ("checklists:template_update", "POST"): may(C.UPDATE_CHECKLIST_FROM_TEMPLATE),
}


def accepted_methods(name: str) -> set[str]:
    from .api.test_auth import API_ENDPOINTS

    if name in ACCEPTS:
        return ACCEPTS[name]
    if name in PERMISSIONS:
        return {"POST"} if PERMISSIONS[name][0] == "post" else {"GET"}
    if name in API_ENDPOINTS:
        return {API_ENDPOINTS[name][0].upper()}
    raise AssertionError(f"say in ACCEPTS which methods {name} accepts")


def url_kwargs(name: str, world: Any) -> dict[str, Any]:
    from .api.test_auth import API_ENDPOINTS

    if name in PERMISSIONS:
        return dict(PERMISSIONS[name][1](world))
    if name in API_ENDPOINTS:
        return {**API_ENDPOINTS[name][1], "product": world.product.slug} if API_ENDPOINTS[name][1] else {}
    if name == "api:webhook_github_app":  # the App has one webhook, no slug
        return {}
    return {"slug": "gh"} if name.startswith("api:webhook_") else {}


def send(client: Client, method: str, url: str) -> Any:
    return client.generic(method, url, b"", content_type="application/x-www-form-urlencoded")


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(all_url_names()))
def test_every_method_on_every_url_for_every_role(name: str, make_user: Any, settings: Any) -> None:
    from integrations.tokens import token_issue

    world = full_world(make_user) if name in PERMISSIONS else build_world(make_user, ready=False)
    url = reverse(name, kwargs=url_kwargs(name, world))
    accepted = accepted_methods(name)
    assert accepted <= set(METHODS)
    clients: dict[str, Client] = {"anonymous": Client(raise_request_exception=False)}
    for who, user in [
        ("no role", make_user()),
        *[(role, make_user(role, product=world.product)) for role in Role.values],
        ("other product", make_user(*Role.values, product=ProductFactory(slug="elsewhere"))),
    ]:
        clients[who] = Client(raise_request_exception=False)
        clients[who].force_login(user)
    if name.startswith("api:"):
        raw = token_issue(name="m", product=world.product, scopes=("results", "verdict", "metrics"))[1]
        clients["token"] = Client(raise_request_exception=False, headers={"Authorization": f"Bearer {raw}"})

    for method in METHODS:
        if method in accepted:
            continue
        for who, client in clients.items():
            response = send(client, method, url)
            assert response.status_code == 405, (method, who, response.status_code)
            assert set(response["Allow"].split(", ")) == accepted, (method, who, response["Allow"])

    for method in sorted(accepted):
        rule = EXTRA_METHOD_ROLES.get((name, method))
        for who, client in clients.items():
            if name in PERMISSIONS and rule is None:
                break  # the one method PERMISSIONS names: test_permissions_per_role
            status = send(client, method, url).status_code
            assert status < 500 and status != 405, (method, who, status)
            if rule is not None and who in Role.values:
                assert (status != 403) == (who in rule), (method, who, status)
            elif rule is not None and who in ("no role", "other product"):
                assert status == 403, (method, who, status)
