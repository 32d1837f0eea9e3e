"""The App Store panel on the board: Apple's 7-day schedule with today marked beside the
product's stages, Apple's state in words and when it was read, the last change and its
answer, drift in words (alerted once per new difference), and the buttons for DevOps
only (the others are told who may)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from audit.models import AuditEvent
from board.rollout import release_halt_by
from core.errors import NotAllowed
from stores.appstore_services import appstore_step
from stores.appstore_sync import reads_due
from stores.models import AppStoreChange, AppStorePhasedRelease

from .appstore_fixtures import Queued
from .appstore_servers import FakeAppStoreConnect

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true", "HX-Target": "stores"}


def board(client: Client, ios: Any, **headers: str) -> str:
    url = reverse("board:release_board", kwargs={"product": ios.product.slug, "version": ios.release.version})
    response = client.get(url, headers={**HTMX, **headers})
    assert response.status_code == 200
    return response.content.decode()


def action_url(ios: Any) -> str:
    return reverse(
        "board:release_appstore", kwargs={"product": ios.product.slug, "version": ios.release.version}
    )


def items(html: str, label: str) -> list[str]:
    block = re.search(rf'<ol class="stages" aria-label="{re.escape(label)}">(.*?)</ol>', html, re.S)
    assert block, label
    return [re.sub(r"<[^>]+>", "", li).strip() for li in re.findall(r"<li[^>]*>(.*?)</li>", block.group(1))]


def test_the_panel_shows_apples_schedule_today_and_the_products_stages(
    ios: Any, asc: FakeAppStoreConnect, read_back: Any, client: Client
) -> None:
    ios.phase.day = 3
    assert read_back(ios.release) == "read"
    client.force_login(ios.qa)
    html = board(client, ios)
    assert items(html, "Apple's 7-day schedule") == [
        "✓ day 1: 1 %",
        "✓ day 2: 2 %",
        "▶ day 3: 5 %",
        "day 4: 10 %",
        "day 5: 20 %",
        "day 6: 50 %",
        "day 7: 100 %",
    ]
    assert (
        '<li class="stage-now" aria-current="step"><span aria-hidden="true">▶</span> day 3: 5 %</li>' in html
    )
    assert items(html, "The product's stages") == ["▶ 1 %", "5 %", "20 %", "100 %"]
    assert "<strong>Releasing in phases</strong> · day 3 of 7" in html
    assert "read from App Store Connect" in html
    assert "Only DevOps pauses, resumes or completes Apple's phased release." in html
    assert "Pause on the App Store" not in html


def test_the_panel_renders_in_korean(ios: Any, read_back: Any, client: Client) -> None:
    read_back(ios.release)
    ios.pm.time_zone = "Asia/Seoul"
    client.force_login(ios.devops)
    html = board(client, ios, **{"Accept-Language": "ko"})
    assert "<html" not in html and 'lang="ko"' not in html  # the fragment only
    assert 'id="store-appstore"' in html and "▶" in html
    full = client.get(
        reverse("board:release_board", kwargs={"product": ios.product.slug, "version": "1.0.0"}),
        headers={"Accept-Language": "ko"},
    ).content.decode()
    assert 'lang="ko"' in full and 'id="store-appstore"' in full


def test_a_product_without_a_source_has_no_panel(ios: Any, client: Client) -> None:
    ios.source.delete()
    client.force_login(ios.qa)
    url = reverse("board:release_board", kwargs={"product": ios.product.slug, "version": "1.0.0"})
    assert 'id="store-appstore"' not in client.get(url).content.decode()


def test_devops_pauses_from_the_panel_and_sees_apples_answer(
    ios: Any,
    asc: FakeAppStoreConnect,
    asc_queued: Queued,
    send: Any,
    read_back: Any,
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    read_back(ios.release)
    client.force_login(ios.devops)
    html = board(client, ios)
    assert "Pause on the App Store" in html and "Release to everyone on the App Store" in html
    assert "Resume on the App Store" not in html  # Apple says ACTIVE
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(action_url(ios), {"step": "pause"}, headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Asked Apple to pause the phased release." in body and "on its way to Apple" in body
    change = AppStoreChange.objects.get(release=ios.release)
    assert (change.origin, change.requested_by, change.wanted) == ("button", ios.devops, "PAUSED")
    assert asc_queued.changes() == [change.pk]
    assert send(change) == "done" and ios.phase.state == "PAUSED"
    html = board(client, ios)
    assert "Apple took it" in html and f"by {ios.devops.get_username()} on the board" in html
    assert "Resume on the App Store" in html and "Pause on the App Store" not in html
    assert AuditEvent.objects.filter(action="store.appstore_change", actor=ios.devops).count() == 1


def test_an_apple_refusal_is_shown_in_apples_words(
    ios: Any, asc: FakeAppStoreConnect, send: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    ios.phase.state = "COMPLETE"
    with django_capture_on_commit_callbacks(execute=True):
        release_halt_by(release=ios.release, actor=ios.devops, reason="crash")
    send(AppStoreChange.objects.get(release=ios.release))
    client.force_login(ios.qa)
    html = board(client, ios)
    assert "Apple refused it" in html
    assert "A phased release that is complete cannot be paused or resumed." in html


@pytest.mark.parametrize("role", [Role.PM, Role.QA, Role.BACKEND_LEAD])
def test_only_devops_may_change_it(ios: Any, role: str, make_user: Any, client: Client) -> None:
    user = make_user(role, product=ios.product)
    with pytest.raises(NotAllowed):
        appstore_step(release=ios.release, step="pause", actor=user)
    client.force_login(user)
    assert client.post(action_url(ios), {"step": "pause"}, headers=HTMX).status_code == 403
    assert AppStoreChange.objects.count() == 0


def test_a_step_that_is_not_one_is_refused(ios: Any, client: Client) -> None:
    client.force_login(ios.devops)
    response = client.post(action_url(ios), {"step": "rewind"}, headers=HTMX)
    assert response.status_code == 400 and "Choose pause, resume or complete." in response.content.decode()


def test_drift_is_shown_in_words_and_alerted_once_per_new_difference(
    ios: Any,
    asc: FakeAppStoreConnect,
    send: Any,
    read_back: Any,
    store_events: list[Any],
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ios.phase.state, ios.phase.day = "PAUSED", 2  # someone paused it in App Store Connect
    read_back(ios.release)
    row = AppStorePhasedRelease.objects.get(release=ios.release)
    assert row.drift_key == "PAUSED/rolling_out"
    assert store_events == [
        (
            "store.drift",
            {
                "store": "app_store",
                "store_name": "App Store",
                "theirs": "paused (day 2 of 7)",
                "ours": "rolling out at 1 %",
            },
        )
    ]
    client.force_login(ios.qa)
    html = board(client, ios)
    assert "Apple and the board disagree" in html
    assert (
        "Apple&#x27;s phased release is paused (day 2 of 7) while the board&#x27;s rollout runs at 1 %"
        in html
    )
    read_back(ios.release)
    assert len(store_events) == 1  # the same difference: not again
    # The board halts (the pause is wanted, not drift), then Apple's release runs again.
    with django_capture_on_commit_callbacks(execute=True):
        release_halt_by(release=ios.release, actor=ios.devops, reason="r")
    send(AppStoreChange.objects.get(release=ios.release))
    assert AppStorePhasedRelease.objects.get(release=ios.release).drift_key == ""
    ios.phase.state = "ACTIVE"
    read_back(ios.release)
    assert AppStorePhasedRelease.objects.get(release=ios.release).drift_key == "ACTIVE/halted"
    assert [e[1]["theirs"] for e in store_events] == [
        "paused (day 2 of 7)",
        "releasing in phases (day 2 of 7)",
    ]
    assert "still releasing the update (day 2 of 7)" in board(client, ios)


def test_no_drift_while_a_change_is_on_its_way(
    ios: Any,
    asc: FakeAppStoreConnect,
    read_back: Any,
    store_events: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        release_halt_by(release=ios.release, actor=ios.devops, reason="r")
    read_back(ios.release)  # Apple still ACTIVE: the pause is being sent
    assert AppStorePhasedRelease.objects.get(release=ios.release).drift_key == ""
    assert store_events == []


def test_a_failed_read_keeps_the_last_state_and_says_why(
    ios: Any, asc: FakeAppStoreConnect, read_back: Any, client: Client
) -> None:
    read_back(ios.release)
    asc.script.append(
        (
            500,
            {
                "errors": [
                    {
                        "status": "500",
                        "code": "UNEXPECTED_ERROR",
                        "title": "An unexpected error occurred.",
                        "detail": "Try again later.",
                    }
                ]
            },
        )
    )
    assert read_back(ios.release) == "failed"
    row = AppStorePhasedRelease.objects.get(release=ios.release)
    assert row.state == "ACTIVE" and row.read_error == "An unexpected error occurred. — Try again later."
    client.force_login(ios.qa)
    assert "The last read failed: An unexpected error occurred. — Try again later." in board(client, ios)


def test_the_beat_reads_releases_rolling_out_or_lately_released(ios: Any, make_user: Any) -> None:
    assert reads_due() == [ios.release.pk]
    ios.source.active = False
    ios.source.save()
    assert reads_due() == []


def test_the_beat_queues_the_reads_and_the_sweep_and_both_are_scheduled(
    ios: Any, asc_queued: Queued, settings: Any
) -> None:
    from stores import appstore_tasks

    asc_queued.calls.clear()
    assert appstore_tasks.appstore_read_due_task.run() == 1
    assert asc_queued.reads() == [ios.release.pk]
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"stores.appstore_read_due", "stores.appstore_sweep"} <= tasks
    assert appstore_tasks.appstore_change_task.name == "stores.appstore_change"
