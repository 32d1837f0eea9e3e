"""Google Play on the board: the panel (package, track, what Play says and when, the
last step and its answer, drift), the warning before the last step, and the DevOps-only
"Read Play now" and "Retry" (in the service and the view)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from audit.models import AuditEvent
from board.rollout import release_rollout_advance, release_rollout_start
from core.errors import Conflict, NotAllowed
from stores.models import PlayCall, PlayCallState
from stores.play_readback import play_read_request, play_track_read
from stores.play_services import play_step_retry

from ..releases.builders import healthy
from .play_servers import Reply, google_error

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
WARNING = "Google Play cannot halt a release once it is completed: after 100 %, a problem needs a new build."


def board(client: Client, world: Any, panel: str | None = None) -> str:
    url = reverse(
        "board:release_board", kwargs={"product": world.product.slug, "version": world.release.version}
    )
    headers = {**HTMX, "HX-Target": panel} if panel else {}
    return client.get(url, headers=headers).content.decode()


def url(name: str, world: Any) -> str:
    return reverse(name, kwargs={"product": world.product.slug, "version": world.release.version})


def refused_start(world: Any, run: Any) -> PlayCall:
    world.google.play.script(
        "PUT",
        "/tracks/",
        Reply(403, google_error(403, "The caller does not have permission", "PERMISSION_DENIED")),
    )
    release_rollout_start(release=world.release, actor=world.devops)
    call = PlayCall.objects.get()
    run(call)
    call.refresh_from_db()
    return call


def test_the_panel_shows_the_track_the_last_step_and_what_play_says(
    client: Client, world: Any, run: Any
) -> None:
    client.force_login(world.devops)
    page = board(client, world, "stores")
    assert "com.acme.shop" in page and "production" in page and "not read yet" in page
    assert "Read Play now" in page and "Retry" not in page
    release = release_rollout_start(release=world.release, actor=world.devops)
    page = board(client, world, "stores")
    assert "start at 1 %" in page and '<span aria-hidden="true">⚠</span> waiting' in page
    run(PlayCall.objects.get())
    play_track_read(release=release)
    page = board(client, world, "stores")
    assert '<span aria-hidden="true">✓</span> done' in page
    assert (
        "<strong>1 %</strong>" in page
        and 'data-play-status="inProgress"' in page
        and 'data-drift="no"' in page
    )


def test_drift_is_said_in_words_with_a_warning_chip(client: Client, world: Any, run: Any) -> None:
    client.force_login(world.qa)
    release = release_rollout_start(release=world.release, actor=world.devops)
    run(PlayCall.objects.get())
    healthy(release)
    release = release_rollout_advance(release=release, actor=world.devops)
    run(PlayCall.objects.get(state=PlayCallState.PENDING))
    world.google.play.console_set(
        {"versionCodes": [world.code], "status": "inProgress", "userFraction": 0.01}
    )
    play_track_read(release=release)
    page = board(client, world, "stores")
    assert 'data-drift="yes"' in page
    assert "Google Play says 1 %, the board says 5 %." in page
    assert '<span class="chip chip-warn"><span aria-hidden="true">⚠</span> differs</span>' in page
    assert "Read Play now" not in page  # QA sees, DevOps acts


def test_a_refused_step_says_googles_words_and_devops_retries(
    client: Client, world: Any, run: Any, django_capture_on_commit_callbacks: Any
) -> None:
    refused_start(world, run)
    client.force_login(world.devops)
    page = board(client, world, "stores")
    assert (
        '<span aria-hidden="true">✗</span> refused</span> Google Play: Google Play answered 403: The caller does not have permission'
        in page
    )
    assert "Retry" in page and "DevOps retries" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("board:play_retry", world), headers={**HTMX, "HX-Target": "stores"})
    assert (
        response.status_code == 200 and "The step is sent to Google Play again." in response.content.decode()
    )
    retried = PlayCall.objects.order_by("-pk").first()
    assert (
        retried is not None
        and retried.state == PlayCallState.PENDING
        and retried.requested_by == world.devops
    )
    assert (retried.status, retried.user_fraction) == ("inProgress", 0.01)
    assert world.queued.steps[-1] == (retried.pk, 0.0)
    assert run(retried) == "done"
    assert AuditEvent.objects.filter(action="play.step_retry", actor=world.devops).exists()
    # Nothing refused any more: a second retry is refused, with the reason.
    response = client.post(url("board:play_retry", world), headers={**HTMX, "HX-Target": "stores"})
    assert response.status_code == 409 and "there is nothing to retry" in response.content.decode()


@pytest.mark.parametrize("role", [Role.QA, Role.PM, Role.BACKEND_LEAD])
def test_only_devops_reads_play_or_retries(
    client: Client, world: Any, run: Any, make_user: Any, role: str
) -> None:
    refused_start(world, run)
    person = make_user(role, product=world.product)
    with pytest.raises(NotAllowed):
        play_step_retry(release=world.release, actor=person)
    with pytest.raises(NotAllowed):
        play_read_request(release=world.release, actor=person)
    client.force_login(person)
    assert client.post(url("board:play_retry", world)).status_code == 403
    assert client.post(url("board:play_read", world)).status_code == 403
    assert PlayCall.objects.count() == 1 and not [s for s in world.google.play.seen if s.method == "GET"]


def test_read_play_now_reads_the_track_and_shows_it(client: Client, world: Any, run: Any) -> None:
    release_rollout_start(release=world.release, actor=world.devops)
    run(PlayCall.objects.get())
    world.google.play.console_set({"versionCodes": [world.code], "status": "halted", "userFraction": 0.01})
    client.force_login(world.devops)
    response = client.post(url("board:play_read", world), headers={**HTMX, "HX-Target": "stores"})
    page = response.content.decode()
    assert response.status_code == 200 and "Google Play was read just now." in page
    assert "Google Play says halted at 1 %, the board says 1 %." in page
    assert AuditEvent.objects.filter(action="play.read_request", actor=world.devops).exists()
    world.google.play.script("GET", "/tracks/", Reply(503, google_error(503, "Backend Error", "UNAVAILABLE")))
    page = client.post(
        url("board:play_read", world), headers={**HTMX, "HX-Target": "stores"}
    ).content.decode()
    assert "Google Play could not be read: Google Play answered 503: Backend Error" in page
    assert "could not read Google Play" in page


def test_without_a_play_source_there_is_no_panel_and_nothing_to_read(client: Client, world: Any) -> None:
    world.source.delete()
    client.force_login(world.devops)
    assert "store-play" not in board(client, world)
    with pytest.raises(Conflict):
        play_read_request(release=world.release, actor=world.devops)
    assert client.post(url("board:play_read", world)).status_code == 409


def test_the_last_step_is_warned_before_it_is_taken(client: Client, world: Any) -> None:
    client.force_login(world.devops)
    release = release_rollout_start(release=world.release, actor=world.devops)
    assert WARNING not in board(client, world)
    for _ in range(2):  # 1 → 5 → 20: the next is 100 %
        healthy(release)
        release = release_rollout_advance(release=release, actor=world.devops)
    operations = board(client, world, "operations")
    assert "Advance to 100 % (fully rolled out)" in operations and WARNING in operations
    assert WARNING in board(client, world, "stores")


def test_the_warning_is_only_for_products_on_google_play(client: Client, world: Any) -> None:
    world.source.delete()
    client.force_login(world.devops)
    release = release_rollout_start(release=world.release, actor=world.devops)
    for _ in range(2):
        healthy(release)
        release = release_rollout_advance(release=release, actor=world.devops)
    operations = board(client, world, "operations")
    assert "Advance to 100 % (fully rolled out)" in operations and WARNING not in operations
