"""`gonogo verdict` against the fake API: Go, No-Go, blocked, pending, waiting, outages."""

from __future__ import annotations

import pytest

from gonogo_cli.client import ATTEMPTS
from gonogo_cli.main import main
from tests.cli.fake_api import TOKEN, VERDICT, Answer, FakeApi, problem, verdict_body

VERDICT_ARGS = ["verdict", "--product", "ios-app", "--version", "2.4.0"]
BLOCKERS = [
    {
        "code": "gate_failed",
        "message": "Contract tests failed",
        "url": "/releases/ios-app/2.4.0/#gate-contract",
    },
    {"code": "defect_open", "message": "1 open major defect", "url": "https://jira.example/browse/IOS-12"},
]


def test_verdict_go(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("GET", VERDICT, verdict_body("go", ready=True))
    assert main(VERDICT_ARGS) == 0
    assert capsys.readouterr().out == "Go: ios-app 2.4.0 (called by pm at 2026-11-27T09:00:00Z)\n"
    [asked] = api.requests("GET", VERDICT)
    assert asked.headers["Authorization"] == f"Bearer {TOKEN}"


def test_verdict_quotes_the_path(api: FakeApi) -> None:
    path = "/api/v1/releases/ios-app/2.4.0%2Brc.1/verdict"
    api.answer("GET", path, verdict_body("go", ready=True))
    assert main(["verdict", "--product", "ios-app", "--version", "2.4.0+rc.1"]) == 0
    assert len(api.requests("GET", path)) == 1


def test_verdict_no_go(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("GET", VERDICT, verdict_body("no_go", ready=False, blockers=BLOCKERS[:1]))
    assert main(VERDICT_ARGS) == 1
    out = capsys.readouterr().out
    assert out.startswith("No-Go: ios-app 2.4.0 (called by pm at")
    assert f"- Contract tests failed ({api.url}/releases/ios-app/2.4.0/#gate-contract)" in out


def test_verdict_blocked_prints_each_blocker(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("GET", VERDICT, verdict_body("pending", ready=False, blockers=BLOCKERS))
    assert main(VERDICT_ARGS) == 1
    assert capsys.readouterr().out == (
        "blocked: ios-app 2.4.0 has 2 blockers:\n"
        f"- Contract tests failed ({api.url}/releases/ios-app/2.4.0/#gate-contract)\n"
        "- 1 open major defect (https://jira.example/browse/IOS-12)\n"
    )


def test_verdict_ready_but_undecided_is_3(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("GET", VERDICT, verdict_body("pending", ready=True))
    assert main(VERDICT_ARGS) == 3
    assert capsys.readouterr().out == "still pending: ios-app 2.4.0 is ready, waiting for the PM/PO's call\n"
    assert len(api.requests("GET", VERDICT)) == 1


def test_verdict_wait_sees_the_go_arrive(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer(
        "GET",
        VERDICT,
        verdict_body("pending", ready=False, blockers=BLOCKERS[:1]),
        verdict_body("pending", ready=True),
        verdict_body("pending", ready=True),
        verdict_body("go", ready=True),
    )
    assert main([*VERDICT_ARGS, "--wait", "30"]) == 0
    assert len(api.requests("GET", VERDICT)) == 4
    output = capsys.readouterr()
    assert output.out.startswith("Go: ios-app 2.4.0")
    assert "waiting up to 30 s" in output.err


def test_verdict_wait_runs_out_while_ready(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("GET", VERDICT, verdict_body("pending", ready=True))
    assert main([*VERDICT_ARGS, "--wait", "0.3"]) == 3
    assert capsys.readouterr().out == "still pending: ios-app 2.4.0 is ready, waiting for the PM/PO's call\n"
    assert len(api.requests("GET", VERDICT)) >= 2  # asked again before giving up


def test_verdict_wait_runs_out_while_blocked(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer(
        "GET",
        VERDICT,
        verdict_body("pending", ready=True),
        verdict_body("pending", ready=False, blockers=BLOCKERS),
    )
    assert main([*VERDICT_ARGS, "--wait", "1"]) == 1
    assert "- 1 open major defect" in capsys.readouterr().out


def test_verdict_no_go_during_the_wait_ends_it(api: FakeApi) -> None:
    api.answer("GET", VERDICT, verdict_body("pending", ready=True), verdict_body("no_go", ready=True))
    assert main([*VERDICT_ARGS, "--wait", "30"]) == 1
    assert len(api.requests("GET", VERDICT)) == 2


def test_verdict_wait_rides_out_a_brief_outage(api: FakeApi) -> None:
    api.answer(
        "GET",
        VERDICT,
        verdict_body("pending", ready=True),
        *[Answer(502, None)] * ATTEMPTS,
        verdict_body("go", ready=True),
    )
    assert main([*VERDICT_ARGS, "--wait", "30"]) == 0


def test_verdict_unknown_release(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("GET", VERDICT, problem(404, "unknown_release", "ios-app has no release 2.4.0."))
    assert main([*VERDICT_ARGS, "--wait", "30"]) == 1
    assert "ios-app has no release 2.4.0." in capsys.readouterr().err
    assert len(api.requests("GET", VERDICT)) == 1


def test_verdict_retries_a_5xx(api: FakeApi) -> None:
    api.answer(
        "GET", VERDICT, Answer(503, None, headers=(("Retry-After", "0"),)), verdict_body("go", ready=True)
    )
    assert main(VERDICT_ARGS) == 0
    assert len(api.requests("GET", VERDICT)) == 2


def test_verdict_unreachable(
    closed_port_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GONOGO_URL", closed_port_url)
    monkeypatch.setenv("GONOGO_TOKEN", TOKEN)
    assert main([*VERDICT_ARGS, "--wait", "600"]) == 2  # a wrong address does not wait
    assert "could not reach" in capsys.readouterr().err


def test_verdict_answer_it_does_not_understand(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("GET", VERDICT, Answer(200, {"decision": "maybe"}))
    assert main(VERDICT_ARGS) == 2
    assert "not one this tool understands" in capsys.readouterr().err


@pytest.mark.parametrize("arguments", [["--wait", "-1"], ["--wait", "soon"], ["--wait", "nan"]])
def test_verdict_bad_wait(api: FakeApi, arguments: list[str]) -> None:
    assert main([*VERDICT_ARGS, *arguments]) == 2
    assert api.seen == []


@pytest.mark.parametrize(
    ("interval", "message"),
    [("often", "must be a number of seconds, not 'often'"), ("0", "must be more than zero seconds")],
)
def test_verdict_bad_poll_interval(
    api: FakeApi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    interval: str,
    message: str,
) -> None:
    monkeypatch.setenv("GONOGO_POLL_INTERVAL", interval)
    assert main(VERDICT_ARGS) == 2
    assert f"GONOGO_POLL_INTERVAL {message}" in capsys.readouterr().err
    assert api.seen == []
