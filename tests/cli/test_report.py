"""`gonogo report` with --status against the fake API: what is sent, refusals, retries, usage."""

from __future__ import annotations

import pytest

from gonogo_cli.client import ATTEMPTS
from gonogo_cli.main import main
from tests.cli.fake_api import ACCEPTED, REPORT, RESULTS, TOKEN, Answer, FakeApi, problem


def test_report_sends_every_flag_with_the_token(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    code = main(
        [
            *REPORT,
            "--status",
            "failed",
            "--url",
            "https://ci.example/run/8812",
            "--summary",
            "131 passed, 1 failed",
            "--commit",
            "3484a3fb81",
            "--run-id",
            "ci-8812",
            "--build",
            "1240",
            "--finished-at",
            "2026-11-27T08:00:00Z",
        ]
    )
    assert code == 0
    assert capsys.readouterr().out == "accepted: contract → failed (gate now failed)\n"
    [sent] = api.requests("POST", RESULTS)
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.json() == {
        "product": "ios-app",
        "version": "2.4.0",
        "gate": "contract",
        "status": "failed",
        "url": "https://ci.example/run/8812",
        "summary": "131 passed, 1 failed",
        "commit": "3484a3fb81",
        "run_id": "ci-8812",
        "build": "1240",
        "finished_at": "2026-11-27T08:00:00Z",
    }


def test_report_leaves_out_what_was_not_given(api: FakeApi) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    assert main([*REPORT, "--status", "passed"]) == 0
    [sent] = api.requests("POST", RESULTS)
    body = sent.json()
    assert isinstance(body, dict) and str(body.pop("run_id")).startswith("cli-")  # retries stay duplicates
    assert body == {"product": "ios-app", "version": "2.4.0", "gate": "contract", "status": "passed"}


@pytest.mark.parametrize(
    ("variables", "run_id"),
    [
        ({"GITHUB_RUN_ID": "9001", "GITHUB_RUN_ATTEMPT": "2"}, "github-9001-2"),
        ({"GITHUB_RUN_ID": "9001"}, "github-9001-1"),
        ({"CI_JOB_ID": "555"}, "gitlab-555"),
        ({"BUILD_TAG": "jenkins-ios-app-42"}, "jenkins-ios-app-42"),
    ],
)
def test_report_takes_a_default_run_id_from_the_ci(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], run_id: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    api.answer("POST", RESULTS, ACCEPTED)
    assert main([*REPORT, "--status", "passed"]) == 0
    assert main([*REPORT, "--status", "passed", "--run-id", "explicit"]) == 0
    first, second = api.requests("POST", RESULTS)
    assert first.json() == {
        "product": "ios-app",
        "version": "2.4.0",
        "gate": "contract",
        "status": "passed",
        "run_id": run_id,
    }
    assert isinstance(body := second.json(), dict) and body["run_id"] == "explicit"


def test_report_duplicate_is_success(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("POST", RESULTS, Answer(200, {"id": 17, "duplicate": True, "gate_status": "failed"}))
    assert main([*REPORT, "--status", "failed", "--run-id", "ci-1"]) == 0
    assert capsys.readouterr().out.startswith("duplicate: nothing changed")


def test_report_refused_prints_the_problem_and_each_field(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.answer(
        "POST",
        RESULTS,
        problem(
            400,
            "invalid_fields",
            "Some fields need fixing.",
            errors=[
                {"field": "url", "message": "Enter a valid URL."},
                {"field": "summary", "message": "At most 500 characters."},
            ],
        ),
    )
    assert main([*REPORT, "--status", "passed", "--url", "nope"]) == 1
    output = capsys.readouterr()
    assert output.out == ""
    assert output.err == (
        "gonogo: refused (400): Bad Request [invalid_fields]\n"
        "gonogo: Some fields need fixing.\n"
        "gonogo:   url: Enter a valid URL.\n"
        "gonogo:   summary: At most 500 characters.\n"
    )


def test_report_refused_with_any_rfc_9457_problem(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    body = {"type": "https://problems.example/too-large", "title": "Too big", "status": 413}
    api.answer("POST", RESULTS, Answer(413, body, content_type="application/problem+json"))
    assert main([*REPORT, "--status", "passed"]) == 1
    assert capsys.readouterr().err == (
        "gonogo: refused (413): Too big [too-large]\ngonogo: The request body is over 1 MiB.\n"
    )


def test_report_refused_without_a_problem_document(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer(
        "POST",
        RESULTS,
        Answer(403, "<html><body>Forbidden by the proxy</body></html>", content_type="text/html"),
    )
    assert main([*REPORT, "--status", "passed"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("gonogo: refused (403 Forbidden)\n")
    assert "<html>" not in err


def test_report_unknown_release_is_refused(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer(
        "POST",
        RESULTS,
        problem(404, "unknown_release", "ios-app has no release 9.9.9 yet; the result is kept."),
    )
    assert main([*REPORT, "--status", "passed"]) == 1
    err = capsys.readouterr().err
    assert "[unknown_release]" in err
    assert "ios-app has no release 9.9.9 yet" in err


def test_report_bad_token_says_what_to_check(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("POST", RESULTS, problem(401, "not_authenticated", "Send Authorization: Bearer <token>."))
    assert main([*REPORT, "--status", "passed"]) == 1
    assert "Check GONOGO_TOKEN" in capsys.readouterr().err


def test_report_retries_a_503_then_succeeds(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer(
        "POST",
        RESULTS,
        problem(503, "unavailable", "Try again shortly."),
        Answer(429, None, headers=(("Retry-After", "0"),)),
        ACCEPTED,
    )
    assert main([*REPORT, "--status", "failed", "--run-id", "ci-2"]) == 0
    sent = api.requests("POST", RESULTS)
    assert len(sent) == 3
    assert sent[0].body == sent[2].body  # the same result, sent again
    output = capsys.readouterr()
    assert "503 Service Unavailable" in output.err and "retrying" in output.err
    assert output.out.startswith("accepted:")


def test_report_gives_up_after_persistent_5xx(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("POST", RESULTS, Answer(500, None, content_type="text/plain"))
    assert main([*REPORT, "--status", "passed"]) == 2
    assert len(api.requests("POST", RESULTS)) == ATTEMPTS
    assert "500 Internal Server Error" in capsys.readouterr().err


def test_report_redirect_is_not_followed(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer("POST", RESULTS, Answer(301, None, headers=(("Location", "https://elsewhere.example/"),)))
    assert main([*REPORT, "--status", "passed"]) == 2
    assert "redirected (301) to https://elsewhere.example/" in capsys.readouterr().err
    assert len(api.requests("POST", RESULTS)) == 1


def test_report_unreachable_server(
    closed_port_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GONOGO_URL", closed_port_url)
    monkeypatch.setenv("GONOGO_TOKEN", TOKEN)
    assert main([*REPORT, "--status", "passed"]) == 2
    err = capsys.readouterr().err
    assert f"could not reach {closed_port_url}" in err
    assert err.count("retrying") == ATTEMPTS - 1


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"GONOGO_TOKEN": TOKEN}, "GONOGO_URL is not set"),
        ({"GONOGO_URL": "http://127.0.0.1:9"}, "GONOGO_TOKEN is not set"),
        ({"GONOGO_URL": "ftp://gonogo.example", "GONOGO_TOKEN": TOKEN}, "must start with http"),
    ],
)
def test_report_missing_configuration(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variables: dict[str, str],
    message: str,
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert main([*REPORT, "--status", "passed"]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "arguments",
    [
        [*REPORT],  # neither --status nor --junit
        [*REPORT, "--status", "passed", "--junit", "report.xml"],  # both
        [*REPORT, "--status", "green"],
        ["report", "--product", "ios-app", "--status", "passed"],
        [],
        ["deploy"],
    ],
)
def test_usage_errors_exit_2(api: FakeApi, arguments: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(arguments) == 2
    assert "usage: gonogo" in capsys.readouterr().err
    assert api.seen == []


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--help"]) == 0
    assert "--junit FILE.xml" in capsys.readouterr().out
