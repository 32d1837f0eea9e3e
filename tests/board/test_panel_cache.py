"""Render once, serve many (issue 16, core/panel_cache.py): a board panel served from the
cache is exactly what a fresh render would show that viewer — per role, language and time
zone — and never older than the last change a viewer was told about."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from board import page_cache as board_reads
from core.panel_cache import PREFIX, version_of
from core.redisconn import redis_client
from gates.recording import ResultEntry, gate_results_record
from gates.services import waiver_request
from live import bus
from live.services import PANELS_FOR

from ..htmx import same_but_tokens
from ..releases.builders import build_world
from ..test_health import closed_port

PANELS = [
    "header",
    "verdict",
    "gates",
    "checklist",
    "defects",
    "waivers",
    "signoffs",
    "decision",
    "operations",
    "flags",
    "stores",
]


@pytest.fixture
def cached(settings: Any, redis_url: str) -> None:
    settings.REDIS_URL = redis_url
    settings.GONOGO_PANEL_CACHE_SECONDS = 30


def _board(client: Client, world: Any, panel: str | None = None, language: str = "en") -> str:
    url = reverse(
        "board:release_board", kwargs={"product": world.product.slug, "version": world.release.version}
    )
    headers: dict[str, str] = {"HTTP_ACCEPT_LANGUAGE": language}
    if panel:
        headers |= {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": panel}
    response = client.get(url, **headers)
    assert response.status_code == 200
    return response.content.decode()


def _uncached(
    settings: Any, client: Client, world: Any, panel: str | None = None, language: str = "en"
) -> str:
    settings.GONOGO_PANEL_CACHE_SECONDS = 0
    try:
        return _board(client, world, panel, language)
    finally:
        settings.GONOGO_PANEL_CACHE_SECONDS = 30


def _cached_entries(world: Any) -> int:
    return len(list(redis_client().scan_iter(match=f"{PREFIX}p:{world.release.pk}:*", count=1000)))


@pytest.fixture
def world(make_user: Any) -> Any:
    """A release with a failing waivable gate and a waiver asked by QA: buttons differ
    by role (approve for the PM, none for the asker) and by person."""
    w = build_world(make_user)
    gate_results_record(
        entries=[ResultEntry(release=w.release, gate=w.gates[0], status="failed", run_id="f")]
    )
    waiver_request(
        release=w.release, gate=w.gates[0], actor=w.qa, reason="flaky", risk="low", mitigation="retest"
    )
    w.viewers = {
        "pm": w.pm,
        "qa": w.qa,
        "lead": w.lead,
        "devops": w.devops,
        "second pm": make_user(Role.PM, product=w.product),
        "mobile lead elsewhere": make_user(Role.MOBILE_LEAD),
    }
    return w


@pytest.mark.parametrize("language", ["en", "ko"])
def test_each_viewer_gets_from_the_cache_what_a_fresh_render_shows_them(
    cached: None, settings: Any, world: Any, language: str
) -> None:
    clients = {}
    for name, user in world.viewers.items():
        clients[name] = Client()
        clients[name].force_login(user)
    # Every viewer fills the cache in turn; each then reads the others' entries too.
    for client in clients.values():
        _board(client, world, language=language)
    assert _cached_entries(world) >= len(PANELS)
    for name, client in clients.items():
        page = _board(client, world, language=language)
        assert same_but_tokens(page) == same_but_tokens(
            _uncached(settings, client, world, language=language)
        ), name
        for panel in PANELS:
            assert same_but_tokens(_board(client, world, panel, language)) == same_but_tokens(
                _uncached(settings, client, world, panel, language)
            ), (name, panel)
    # The buttons really differ: the PM may approve the QA's waiver, the QA may not.
    approve = reverse("board:waiver_approve", args=[world.release.waivers.get().pk])
    assert approve in _board(clients["pm"], world, "waivers", language)
    assert approve in _board(clients["second pm"], world, "waivers", language)
    assert approve not in _board(clients["qa"], world, "waivers", language)


def test_the_csrf_token_of_one_viewer_is_never_served_to_another(cached: None, world: Any) -> None:
    pm, other = Client(), Client()
    pm.force_login(world.pm)
    other.force_login(world.viewers["second pm"])
    first = _board(pm, world, "waivers")
    second = _board(other, world, "waivers")
    token = re.compile(r'name="csrfmiddlewaretoken" value="([^"]*)"')
    assert token.search(first) and token.search(second)
    from django.middleware.csrf import _unmask_cipher_token

    def secret(client: Client) -> str:
        value = client.cookies["csrftoken"].value  # the secret itself, or a masked one
        return value if len(value) == 32 else _unmask_cipher_token(value)

    assert {_unmask_cipher_token(t) for t in token.findall(first)} == {secret(pm)}
    assert {_unmask_cipher_token(t) for t in token.findall(second)} == {secret(other)}
    assert secret(pm) != secret(other)
    for key in redis_client().scan_iter(match=f"{PREFIX}p:{world.release.pk}:*"):
        html = redis_client().get(key).decode()
        assert not token.search(html) or all(v == "\x00gonogo-csrf\x00" for v in token.findall(html))


def test_after_every_change_each_viewer_sees_it_at_once(
    cached: None, settings: Any, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Changes through the services, each committed: the next read of any viewer is the
    fresh one, whichever panels the change names."""
    from checklists.models import ChecklistItem
    from checklists.services import checklist_item_tick

    pm, qa = Client(), Client()
    pm.force_login(world.pm)
    qa.force_login(world.qa)
    item = ChecklistItem.objects.filter(checklist__release=world.release, core=False).first()
    changes = [
        lambda: gate_results_record(
            entries=[ResultEntry(release=world.release, gate=world.gates[0], status="passed", run_id="f2")]
        ),
        lambda: checklist_item_tick(item=item, state="failed", actor=world.qa),
        lambda: gate_results_record(
            entries=[ResultEntry(release=world.release, gate=world.gates[1], status="error", run_id="e")]
        ),
    ]
    for change in changes:
        for client in (pm, qa):
            _board(client, world)  # warm
        with django_capture_on_commit_callbacks(execute=True):
            change()
        for client in (pm, qa):
            assert same_but_tokens(_board(client, world)) == same_but_tokens(
                _uncached(settings, client, world)
            )


def test_the_cache_goes_stale_before_the_boards_hear(
    cached: None, world: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = version_of(world.release.pk)
    heard: list[str | None] = []
    real = bus.publish
    monkeypatch.setattr(
        bus,
        "publish",
        lambda topic, panels: (heard.append(version_of(world.release.pk)), real(topic, panels)),
    )
    with django_capture_on_commit_callbacks(execute=True):
        gate_results_record(
            entries=[ResultEntry(release=world.release, gate=world.gates[1], status="failed", run_id="x")]
        )
    assert heard and all(v != before for v in heard)


@pytest.mark.django_db(transaction=True)
def test_a_render_that_read_before_a_change_is_never_served_after_it(
    cached: None, settings: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A viewer's render reads the release, then a change commits while it is still
    rendering: what it stores is never served to anyone who asks after the change."""
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL")
    world = build_world(make_user)
    reached, go = threading.Event(), threading.Event()
    real = board_reads.release_board
    slow: dict[str, Any] = {}

    def paused(release: Any, **kwargs: Any) -> Any:
        board = real(release, **kwargs)  # the release's evidence, read before the change
        if threading.current_thread() is slow.get("thread"):
            reached.set()
            assert go.wait(10)
        return board

    monkeypatch.setattr(board_reads, "release_board", paused)
    early = Client()
    early.force_login(world.pm)
    pages: list[str] = []

    def read() -> None:
        try:
            pages.append(_board(early, world, "gates"))
        finally:
            connection.close()

    slow["thread"] = threading.Thread(target=read)
    slow["thread"].start()
    assert reached.wait(10)
    gate_results_record(
        entries=[ResultEntry(release=world.release, gate=world.gates[0], status="failed", run_id="late")]
    )
    go.set()
    slow["thread"].join(10)
    assert pages  # rendered from the evidence before the change, stored after it
    for viewer in (world.pm, make_user(Role.PM, product=world.product)):
        client = Client()
        client.force_login(viewer)
        now = _board(client, world, "gates")
        assert same_but_tokens(now) == same_but_tokens(_uncached(settings, client, world, "gates"))
        assert same_but_tokens(now) != same_but_tokens(pages[0])


def test_panels_of_every_change_are_cached_panels() -> None:
    """Every board panel a live event names is a cached panel of board.html (and back)."""
    from pathlib import Path

    from django.conf import settings as django_settings

    template = Path(django_settings.BASE_DIR, "board/templates/board/board.html").read_text()
    cached_names = set(re.findall(r'{% panel_cache "(\w+)"', template))
    assert cached_names == set(PANELS)
    named = {p for change, panels in PANELS_FOR.items() for p in panels} - {"meeting", "q1", "q2", "q4"}
    assert cached_names == named


def test_a_board_read_for_one_language_is_never_served_in_another(
    cached: None, settings: Any, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Right after a change a Korean reader renders first; an English reader a moment
    later gets English words (blockers, stale reasons), not the Korean reader's board."""
    korean, english = Client(), Client()
    korean.force_login(world.pm)
    english.force_login(world.viewers["second pm"])
    with django_capture_on_commit_callbacks(execute=True):
        gate_results_record(
            entries=[ResultEntry(release=world.release, gate=world.gates[1], status="failed", run_id="ko")]
        )
    for panel in ("verdict", "signoffs", "decision"):
        _board(korean, world, panel, "ko")
        assert same_but_tokens(_board(english, world, panel, "en")) == same_but_tokens(
            _uncached(settings, english, world, panel, "en")
        ), panel


def test_while_redis_is_away_boards_render_and_changes_land_without_waiting(
    cached: None, settings: Any, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    pm = Client()
    pm.force_login(world.pm)
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        gate_results_record(
            entries=[ResultEntry(release=world.release, gate=world.gates[1], status="failed", run_id="away")]
        )
    page = _board(pm, world)
    assert time.monotonic() - started < 3
    assert same_but_tokens(page) == same_but_tokens(_uncached(settings, pm, world))


def test_a_bump_missed_while_redis_was_away_is_made_up_before_anything_is_served(
    cached: None, settings: Any, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from core import panel_cache

    pm = Client()
    pm.force_login(world.pm)
    _board(pm, world)  # kept
    here = settings.REDIS_URL
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    with django_capture_on_commit_callbacks(execute=True):
        gate_results_record(
            entries=[ResultEntry(release=world.release, gate=world.gates[1], status="failed", run_id="gap")]
        )
    settings.REDIS_URL = here  # back, and DOWN_SECONDS later:
    panel_cache._link["down_until"] = 0.0
    assert same_but_tokens(_board(pm, world)) == same_but_tokens(_uncached(settings, pm, world))


def test_a_kept_page_carries_the_viewers_own_nonce_and_token_and_never_a_message(
    cached: None, world: Any
) -> None:
    pm = Client()
    pm.force_login(world.pm)
    url = reverse(
        "board:release_board", kwargs={"product": world.product.slug, "version": world.release.version}
    )
    first, second = pm.get(url), pm.get(url)  # rendered, then served as kept
    for response in (first, second):
        nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
        page = response.content.decode()
        assert set(re.findall(r'nonce="([^"]*)"', page)) == {nonce}
        assert "\x00" not in page
    assert re.findall(r'nonce="([^"]*)"', first.content.decode()) != re.findall(
        r'nonce="([^"]*)"', second.content.decode()
    )
    # A message shown once (after a plain form POST) is shown — the kept page is not
    # served over it — and is not kept with the page.
    qa = Client()
    qa.force_login(world.qa)
    qa.get(url)  # QA's page kept, before the message
    signed = qa.post(
        reverse(
            "board:signoff_create", kwargs={"product": world.product.slug, "version": world.release.version}
        ),
        {"role": "qa", "vote": "no_go", "comment": "the flaky gate", "confirm_failing": "1"},
    )
    assert signed.status_code == 302, signed.content[:500]
    shown = qa.get(url).content.decode()
    assert 'class="messages"' in shown
    assert 'class="messages"' not in qa.get(url).content.decode()


def test_a_re_fetch_served_from_the_cache_reads_who_asks_and_the_release_key_only(
    cached: None, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hit path (issue 16: a re-fetch at least half the empty view): the session, the person,
    their zone and roles, the release's key — and one round trip to Redis, for the versions
    and the entry together."""
    from django.test.utils import CaptureQueriesContext

    from core import panel_cache

    client = Client()
    client.force_login(world.pm)
    _board(client, world, "gates")  # rendered and kept
    trips: list[str] = []
    real = panel_cache._redis

    def counted(*, write: bool = False) -> Any:
        trips.append("write" if write else "read")
        return real(write=write)

    monkeypatch.setattr(panel_cache, "_redis", counted)
    with CaptureQueriesContext(connection) as queries:
        served = _board(client, world, "gates")
    tables = [re.search(r'FROM "?(\w+)"?', q["sql"]).group(1) for q in queries.captured_queries]  # type: ignore[union-attr]
    assert tables == [
        "django_session",
        "auth_user",
        "accounts_profile",
        "accounts_rolemembership",
        "releases_release",
    ], tables
    assert trips == ["read"]
    assert 'id="gates"' in served
