"""The `gonogo` CLI against a real local HTTP server that plays the API (no database)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gonogo.cli import ATTEMPTS, SUMMARY_MAX, main

REPO = Path(__file__).resolve().parent.parent
TOKEN = "gng_test_0123456789"
RESULTS = "/api/v1/results"
VERDICT = "/api/v1/releases/ios-app/2.4.0/verdict"
CI_VARIABLES = ("GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "CI_JOB_ID", "BUILD_TAG")
PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


@dataclass(frozen=True)
class Answer:
    status: int
    body: object = None  # JSON, or a str sent as it is
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


def problem(status: int, code: str, detail: str = "", **extra: object) -> Answer:
    """The server's problem document (api/problems.py)."""
    body = {"type": f"/api/v1/problems/{code}", "title": HTTPStatus(status).phrase, "status": status}
    return Answer(
        status, body | {"detail": detail, "code": code, **extra}, content_type="application/problem+json"
    )


def verdict_body(decision: str, *, ready: bool, blockers: list[dict[str, str]] | None = None) -> Answer:
    decided = decision != "pending"
    return Answer(
        200,
        {
            "decision": decision,
            "ready": ready,
            "blockers": blockers or [],
            "decided_by": "pm" if decided else None,
            "decided_at": "2026-11-27T09:00:00Z" if decided else None,
        },
    )


@dataclass
class FakeApi:
    """Answers each (method, path) from a script; the last answer repeats."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    script: dict[tuple[str, str], deque[Answer]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, method: str, path: str, *answers: Answer) -> None:
        self.script[(method, path)] = deque(answers)

    def next_answer(self, method: str, path: str) -> Answer:
        with self.lock:
            queue = self.script.get((method, path))
            if not queue:
                return problem(404, "not_found", f"{method} {path} is not scripted")
            return queue.popleft() if len(queue) > 1 else queue[0]

    def requests(self, method: str, path: str) -> list[Seen]:
        return [seen for seen in self.seen if (seen.method, seen.path) == (method, path)]


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with api.lock:
                api.seen.append(Seen(self.command, self.path, dict(self.headers.items()), body))
            answer = api.next_answer(self.command, self.path)
            if answer.body is None:
                payload = b""
            elif isinstance(answer.body, str):
                payload = answer.body.encode()
            else:
                payload = json.dumps(answer.body).encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*CI_VARIABLES, *PROXY_VARIABLES, "GONOGO_URL", "GONOGO_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GONOGO_RETRY_BACKOFF", "0.01")
    monkeypatch.setenv("GONOGO_POLL_INTERVAL", "0.05")


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    fake = FakeApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("GONOGO_URL", fake.url + "/")  # the trailing slash is dropped
    monkeypatch.setenv("GONOGO_TOKEN", TOKEN)
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


ACCEPTED = Answer(202, {"id": 17, "duplicate": False, "gate_status": "failed"})
REPORT = ["report", "--product", "ios-app", "--version", "2.4.0", "--gate", "contract"]


def write(tmp_path: Path, name: str, xml: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(xml.encode() if isinstance(xml, str) else xml)
    return str(path)


# --- report -------------------------------------------------------------------------


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


# --- report --junit -----------------------------------------------------------------

PYTEST_FAILED = """<?xml version="1.0" encoding="utf-8"?>
<testsuites>
  <testsuite name="pytest" errors="1" failures="1" skipped="1" tests="5" time="1.2">
    <testcase classname="tests.test_pact" name="test_order_contract" time="0.1"/>
    <testcase classname="tests.test_pact" name="test_refund_contract" time="0.1">
      <failure message="assert 400 == 200">AssertionError</failure>
    </testcase>
    <testcase classname="tests.test_pact" name="test_user_contract" time="0.1">
      <error message="fixture failed">ConnectionError</error>
    </testcase>
    <testcase classname="tests.test_pact" name="test_legacy" time="0.0">
      <skipped type="pytest.skip" message="legacy">skipped</skipped>
    </testcase>
    <testcase classname="tests.test_pact" name="test_health" time="0.1"/>
  </testsuite>
</testsuites>
"""


def test_junit_with_a_failure_and_an_error_reports_failed(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    report_file = write(tmp_path, "junit.xml", PYTEST_FAILED)
    assert main([*REPORT, "--junit", report_file, "--run-id", "ci-3"]) == 0
    [sent] = api.requests("POST", RESULTS)
    assert sent.json() == {
        "product": "ios-app",
        "version": "2.4.0",
        "gate": "contract",
        "status": "failed",
        "run_id": "ci-3",
        "summary": "2 passed, 1 failed, 1 errors, 1 skipped; "
        "failing: tests.test_pact.test_refund_contract, tests.test_pact.test_user_contract",
    }
    assert "→ failed" in capsys.readouterr().out


def test_junit_errors_alone_fail(api: FakeApi, tmp_path: Path) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    xml = """<testsuite name="detox" tests="2">
      <testcase name="logs in"/><testcase name="pays"><error message="app crashed"/></testcase>
    </testsuite>"""
    assert main([*REPORT, "--junit", write(tmp_path, "detox.xml", xml)]) == 0
    [sent] = api.requests("POST", RESULTS)
    assert isinstance(body := sent.json(), dict)
    assert body["status"] == "failed"
    assert body["summary"] == "1 passed, 0 failed, 1 errors, 0 skipped; failing: pays"


def test_junit_single_testsuite_root_all_passed(api: FakeApi, tmp_path: Path) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    xml = """<?xml version="1.0"?>
    <testsuite name="appium" tests="3">
      <testcase classname="Checkout" name="card"/>
      <testcase classname="Checkout" name="apple pay"/>
      <testcase classname="Login" name="sso"><system-out>ok</system-out></testcase>
    </testsuite>"""
    assert main([*REPORT, "--junit", write(tmp_path, "appium.xml", xml)]) == 0
    [sent] = api.requests("POST", RESULTS)
    assert isinstance(body := sent.json(), dict)
    assert (body["status"], body["summary"]) == ("passed", "3 passed, 0 failed, 0 errors, 0 skipped")


def test_junit_all_skipped_or_empty_is_skipped(api: FakeApi, tmp_path: Path) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    skipped = """<testsuites><testsuite name="s">
      <testcase name="a"><skipped/></testcase><testcase name="b"><skipped/></testcase>
    </testsuite></testsuites>"""
    assert main([*REPORT, "--junit", write(tmp_path, "skipped.xml", skipped)]) == 0
    assert main([*REPORT, "--junit", write(tmp_path, "empty.xml", "<testsuites/>")]) == 0
    first, second = (seen.json() for seen in api.requests("POST", RESULTS))
    assert isinstance(first, dict) and isinstance(second, dict)
    assert (first["status"], first["summary"]) == ("skipped", "0 passed, 0 failed, 0 errors, 2 skipped")
    assert (second["status"], second["summary"]) == ("skipped", "0 passed, 0 failed, 0 errors, 0 skipped")


def test_junit_without_testcases_uses_the_suite_counters(api: FakeApi, tmp_path: Path) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    xml = """<testsuites>
      <testsuite name="unit" tests="10" failures="0" errors="0" skipped="2"/>
      <testsuite name="ui" tests="4" failures="1" errors="0" skipped="0"/>
      <testsuite name="broken" tests="inf" failures="n/a"/>
    </testsuites>"""
    assert main([*REPORT, "--junit", write(tmp_path, "counters.xml", xml)]) == 0
    [sent] = api.requests("POST", RESULTS)
    assert isinstance(body := sent.json(), dict)
    assert (body["status"], body["summary"]) == ("failed", "11 passed, 1 failed, 0 errors, 2 skipped")


def test_junit_namespaced_and_nested_suites(api: FakeApi, tmp_path: Path) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    xml = """<testsuites xmlns="urn:example"><testsuite name="outer">
      <testsuite name="inner"><testcase name="a"/><testcase name="b"><failure/></testcase></testsuite>
    </testsuite></testsuites>"""
    assert main([*REPORT, "--junit", write(tmp_path, "nested.xml", xml)]) == 0
    [sent] = api.requests("POST", RESULTS)
    assert isinstance(body := sent.json(), dict)
    assert body["summary"] == "1 passed, 1 failed, 0 errors, 0 skipped; failing: b"


def test_junit_many_failures_keep_the_summary_short(api: FakeApi, tmp_path: Path) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    cases = "".join(
        f'<testcase classname="suite.Login" name="test_case_{n:03}"><failure/></testcase>' for n in range(60)
    )
    assert main([*REPORT, "--junit", write(tmp_path, "many.xml", f"<testsuite>{cases}</testsuite>")]) == 0
    [sent] = api.requests("POST", RESULTS)
    assert isinstance(body := sent.json(), dict) and isinstance(summary := body["summary"], str)
    assert len(summary) <= SUMMARY_MAX
    assert summary.startswith(
        "0 passed, 60 failed, 0 errors, 0 skipped; failing: suite.Login.test_case_000, "
    )
    assert summary.endswith("more")


def test_explicit_summary_overrides_the_junit_one(api: FakeApi, tmp_path: Path) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    report_file = write(tmp_path, "junit.xml", PYTEST_FAILED)
    assert main([*REPORT, "--junit", report_file, "--summary", "see the report"]) == 0
    [sent] = api.requests("POST", RESULTS)
    assert isinstance(body := sent.json(), dict)
    assert (body["status"], body["summary"]) == ("failed", "see the report")


BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<testsuite><testcase name="&lol2;"/></testsuite>"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE testsuite [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<testsuite><testcase name="&secret;"/></testsuite>"""


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (BOMB, "refused: the file contains a DOCTYPE declaration"),
        (EXTERNAL, "refused: the file contains a DOCTYPE declaration"),
        (BOMB.replace('"1.0"?>', '"1.0" encoding="utf-16"?>').encode("utf-16"), "DOCTYPE declaration"),
        ("<testsuite><testcase name='a'></testsuite>", "is not well-formed XML: mismatched tag (line 1"),
        ("", "is not well-formed XML: no element found"),
        ("<html><body>502 Bad Gateway</body></html>", "is not a JUnit report: its root is <html>"),
    ],
)
def test_junit_refused_before_anything_is_sent(
    api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str], xml: str | bytes, message: str
) -> None:
    api.answer("POST", RESULTS, ACCEPTED)
    assert main([*REPORT, "--junit", write(tmp_path, "bad.xml", xml)]) == 2
    assert message in capsys.readouterr().err
    assert api.seen == []


def test_junit_missing_file(api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*REPORT, "--junit", str(tmp_path / "nowhere.xml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert api.seen == []


# --- verdict ------------------------------------------------------------------------

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


# --- running it ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "gonogo.cli", "--help"],
        # From a checkout with nothing installed: the standard library is enough (-S: no site-packages).
        [sys.executable, "-S", "gonogo/cli.py", "verdict", "--help"],
    ],
)
def test_runs_as_a_program(command: list[str]) -> None:
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "usage: gonogo" in done.stdout
