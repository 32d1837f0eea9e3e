"""Every page: anonymous → login, no role → 403, a role → 200, plus its htmx fragment.

`PERMISSIONS` lists every URL name of the app; the walk below fails when a new URL is
added without a row here, so no view ships without its permission tested.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.html import escape

from accounts.models import Role
from audit.models import AuditEvent
from checklists.models import ChecklistItem
from gates.models import Gate
from releases.selectors import release_board

from .releases.builders import build_world

PUBLIC = {"accounts:login", "accounts:logout", "set_language"}
VIEWERS = set(Role.values)
# url name → (kwargs builder, roles that may open it)
PERMISSIONS: dict[str, tuple[Any, set[str]]] = {
    "releases:dashboard": (lambda w: {}, VIEWERS),
    "releases:release_board": (lambda w: {"product": w.product.slug, "version": w.release.version}, VIEWERS),
}


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
    missing = all_url_names() - set(PERMISSIONS) - PUBLIC
    assert not missing, f"add these URL names to PERMISSIONS in {__file__}: {sorted(missing)}"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(PERMISSIONS))
def test_permissions_per_role(name: str, make_user: Any, client: Client) -> None:
    world = build_world(make_user, ready=False)
    kwargs_for, allowed = PERMISSIONS[name]
    url = reverse(name, kwargs=kwargs_for(world))

    response = client.get(url)
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]

    client.force_login(make_user())  # no role at all
    assert client.get(url).status_code == 403

    for role in Role.values:
        user = make_user(role, product=world.product)
        client.force_login(user)
        expected = 200 if role in allowed else 403
        assert client.get(url).status_code == expected, (role, url)

    # A role on another product only does not open this product's pages.
    from .releases.factories import ProductFactory

    outsider = make_user(Role.PM, product=ProductFactory(slug="elsewhere"))
    client.force_login(outsider)
    if name == "releases:release_board":
        assert client.get(url).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    "panel", ["verdict", "gates", "checklist", "defects", "waivers", "signoffs", "decision", "operations"]
)
def test_board_fragments_for_htmx(panel: str, make_user: Any, client: Client) -> None:
    world = build_world(make_user, ready=False)
    client.force_login(world.qa)
    url = reverse("releases:release_board", kwargs={"product": world.product.slug, "version": "1.0.0"})
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
        reverse("releases:release_board", kwargs={"product": world.product.slug, "version": "1.0.0"})
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
    url = reverse("releases:release_board", kwargs={"product": world.product.slug, "version": "1.0.0"})
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
        "releases:release_board", kwargs={"product": world.product.slug, "version": world.release.version}
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
