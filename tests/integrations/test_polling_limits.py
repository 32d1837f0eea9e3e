"""Polling backs off and keeps to the providers' limits (issue 12): rate limits and
Retry-After held until they pass, shared by a credential; server errors and unreachable
providers back off without stopping the others; one URL is never asked twice at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from gates.models import GateResult
from integrations.models import PollCursor
from integrations.polling import releases_poll

from .ci_payloads import (
    CHECKS,
    STATUS,
    check_run,
    check_runs,
    combined,
    github_server,
    later,
    setup,
    status_of,
)
from .ci_server import CI, PagedCI, Reply

pytestmark = pytest.mark.django_db


def test_rate_limit_holds_every_request_of_the_integration_until_reset(ci: Callable[..., CI]) -> None:
    server = github_server(ci)
    s = setup(server, "github")
    reset = int((timezone.now() + timedelta(minutes=10)).timestamp())
    server.reply(
        CHECKS,
        Reply(
            403,
            {"message": "API rate limit exceeded for user ID 1."},
            {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
        ),
        check_runs(check_run()),
    )

    releases_poll()
    cursor = PollCursor.objects.get(integration=s.integration, url__endswith="check-runs?per_page=100")
    assert cursor.not_before is not None and int(cursor.not_before.timestamp()) == reset
    assert (cursor.last_status, cursor.failures) == (403, 0)
    assert "wait" in cursor.last_error
    # The status URL shares the credential: it is not asked either.
    assert server.paths() == [CHECKS]
    releases_poll()
    assert server.paths() == [CHECKS]
    assert status_of(s) is None

    releases_poll(session=later(601))
    assert server.paths() == [CHECKS, CHECKS, STATUS]
    assert status_of(s) == "passed"


@pytest.mark.parametrize("code", [429, 503])
def test_retry_after_is_honoured(ci: Callable[..., CI], code: int) -> None:
    server = github_server(ci)
    s = setup(server, "github")
    server.reply(CHECKS, check_runs(check_run("in_progress")))  # keeps the release waiting
    server.reply(STATUS, Reply(code, {"message": "slow down"}, {"Retry-After": "120"}), combined())

    releases_poll()
    cursor = PollCursor.objects.get(integration=s.integration, url__endswith="/status?per_page=100")
    assert cursor.not_before is not None and cursor.last_status == code
    assert timedelta(seconds=110) < cursor.not_before - timezone.now() <= timedelta(seconds=120)
    assert status_of(s) == "running"  # the check runs still came through

    releases_poll(session=later(60))
    assert server.paths().count(STATUS) == 1
    releases_poll(session=later(121))
    assert server.paths().count(STATUS) == 2
    assert PollCursor.objects.get(pk=cursor.pk).not_before is None


def test_a_secondary_limit_without_headers_waits_a_minute(paged: Callable[..., PagedCI]) -> None:
    server = paged()
    s = setup(server, "github")
    server.reply(
        CHECKS,
        Reply(403, {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}),
        check_runs(check_run()),
    )
    server.reply(STATUS, combined())

    releases_poll()
    cursor = PollCursor.objects.get(integration=s.integration, url__contains="check-runs")
    assert timedelta(seconds=55) < cursor.not_before - timezone.now() <= timedelta(seconds=60)
    releases_poll(session=later(45))
    assert server.paths().count(CHECKS) == 1
    releases_poll(session=later(61))
    assert status_of(s) == "passed"


def test_integrations_sharing_a_token_share_its_limit(
    paged: Callable[..., PagedCI], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = paged()
    monkeypatch.setenv("GONOGO_TEST_GITHUB_TOKEN", "ghp_shared")
    first = setup(server, "github")
    second = setup(server, "github", slug="android-app", repository="acme/android-app")
    for s in (first, second):
        s.integration.api_token_env = "GONOGO_TEST_GITHUB_TOKEN"
        s.integration.save()
    reset = int((timezone.now() + timedelta(minutes=10)).timestamp())
    limited = Reply(
        403,
        {"message": "API rate limit exceeded"},
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    server.reply(CHECKS, limited)
    server.reply(CHECKS.replace("ios-app", "android-app"), check_runs(check_run()))

    releases_poll()

    assert server.paths() == [CHECKS]  # the second integration's token is the same: held too
    assert status_of(second) is None


def test_server_errors_back_off_and_other_integrations_are_still_polled(ci: Callable[..., CI]) -> None:
    broken = ci()
    broken.reply(CHECKS, Reply(500, {"message": "Server Error"}))
    broken.reply(STATUS, Reply(502, {"message": "Bad Gateway"}))
    down = setup(broken, "github", slug="web-app")
    working = github_server(ci)
    up = setup(working, "github", slug="ios-app")

    assert releases_poll() == 2

    assert status_of(up) == "passed"
    assert not GateResult.objects.filter(gate=down.gate).exists()
    cursor = PollCursor.objects.get(integration=down.integration, url__endswith="check-runs?per_page=100")
    assert (cursor.failures, cursor.last_status, cursor.last_error) == (1, 500, "HTTP 500")
    assert cursor.not_before is not None
    assert timedelta(seconds=25) < cursor.not_before - timezone.now() <= timedelta(seconds=30)

    releases_poll()  # held: no request
    assert len(broken.seen) == 2
    releases_poll(session=later(31))
    cursor.refresh_from_db()
    assert cursor.failures == 2 and len(broken.seen) == 4
    assert cursor.not_before is not None
    assert timedelta(seconds=85) < cursor.not_before - timezone.now() <= timedelta(seconds=91)


def test_an_unreachable_provider_is_noted_not_raised(ci: Callable[..., CI]) -> None:
    server = github_server(ci)
    s = setup(server, "github")
    server.close()

    assert releases_poll() == 1
    cursor = PollCursor.objects.get(integration=s.integration, url__endswith="check-runs?per_page=100")
    assert cursor.failures == 1 and cursor.last_status is None
    assert cursor.last_error.startswith("no answer")


def test_the_same_url_is_never_asked_twice_at_once(paged: Callable[..., PagedCI]) -> None:
    server = paged()
    s = setup(server, "github")
    server.reply(CHECKS, check_runs(check_run()))
    server.reply(STATUS, combined())
    PollCursor.objects.create(
        integration=s.integration,
        url=f"{server.url}{CHECKS}?per_page=100",
        leased_until=timezone.now() + timedelta(seconds=30),
    )

    releases_poll()

    assert CHECKS not in server.paths()  # another run is asking it right now
    assert status_of(s) is None
