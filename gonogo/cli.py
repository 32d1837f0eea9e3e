"""`gonogo`: the command-line tool for CI pipelines.

Reports a gate's result to Go/No-Go and asks for a release's verdict, over the HTTP API
(`/api/v1/`). It needs only the standard library, so a pipeline can run it from a
checkout (`python -m gonogo.cli`) as well as from an installed project (`gonogo`).

Environment:
  GONOGO_URL            base address of the server, e.g. https://gonogo.example.com
  GONOGO_TOKEN          an API token (`python manage.py issue_token`)
  GONOGO_POLL_INTERVAL  seconds between verdict polls while waiting (default 5)
  GONOGO_RETRY_BACKOFF  first pause before a retry, in seconds, doubled each time (default 1)

Exit codes:
  0  report: accepted (a duplicate too); verdict: Go
  1  report: refused by the server (the problem is printed);
     verdict: No-Go, blocked (the blockers are printed) or the release is unknown
  2  usage error, missing configuration, unreadable JUnit file, or the server could not be
     reached (connection error, timeout, 5xx or 429 after retries)
  3  verdict: still pending when the wait ran out (ready, waiting for the PM/PO's call)
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__" and not __package__:
    # Run as a file (`python gonogo/cli.py`): Python put this folder first on sys.path, and
    # its http.py would stand in for the standard library's `http` that urllib needs.
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != _here]

import argparse
import email.utils
import http
import http.client
import io
import json
import re
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree
from xml.parsers import expat

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_PENDING = 3

STATUSES = ("pending", "running", "passed", "failed", "error", "skipped")
SUMMARY_MAX = 500
USER_AGENT = "gonogo-cli/1"
REQUEST_TIMEOUT = 30.0
ATTEMPTS = 4  # one try and three retries
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_CAP = 30.0
DEFAULT_RETRY_BACKOFF = 1.0
DEFAULT_POLL_INTERVAL = 5.0
MAX_REPLY_BYTES = 1 << 20

Json = dict[str, object]


class CliError(Exception):
    """Stops the command: the message is printed to stderr and `code` is the exit status."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class Unreachable(CliError):
    """The server did not give a usable answer: connection error, timeout, 5xx, 429."""


# --- HTTP ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    body: Json | None  # the JSON object, when the reply was one
    text: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would drop the body of a POST (or send the token elsewhere): report it.
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: object,
        code: int,
        msg: str,
        headers: object,
        newurl: str,
    ) -> None:
        return None


def _env_seconds(environ: Mapping[str, str], name: str, default: float, *, zero: bool = True) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise CliError(f"{name} must be a number of seconds, not {raw!r}.") from None
    if not (value >= 0 if zero else value > 0) or value == float("inf"):  # NaN fails both
        raise CliError(f"{name} must be {'zero or more' if zero else 'more than zero'} seconds, not {raw!r}.")
    return value


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_CAP)
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return min(max(email.utils.mktime_tz(parsed) - time.time(), 0.0), RETRY_AFTER_CAP)


def _decode(raw: bytes) -> tuple[Json | None, str]:
    text = raw.decode("utf-8", errors="replace")
    try:
        parsed: object = json.loads(text)
    except ValueError:
        return None, text
    return (parsed if isinstance(parsed, dict) else None), text


@dataclass(frozen=True)
class Client:
    """Talks to the API with the bearer token; retries what is worth retrying."""

    base_url: str
    token: str
    backoff: float = DEFAULT_RETRY_BACKOFF
    timeout: float = REQUEST_TIMEOUT

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Client:
        base_url = environ.get("GONOGO_URL", "").strip().rstrip("/")
        token = environ.get("GONOGO_TOKEN", "").strip()
        if not base_url:
            raise CliError(
                "GONOGO_URL is not set: set it to the server's address, e.g. https://gonogo.example.com"
            )
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise CliError(f"GONOGO_URL must start with http:// or https:// (it is {base_url!r}).")
        if not token:
            raise CliError(
                "GONOGO_TOKEN is not set: issue one with "
                "`python manage.py issue_token NAME --product SLUG --scope results,verdict`."
            )
        backoff = _env_seconds(environ, "GONOGO_RETRY_BACKOFF", DEFAULT_RETRY_BACKOFF)
        return cls(base_url=base_url, token=token, backoff=backoff)

    def call(self, method: str, path: str, payload: Json | None = None) -> Reply:
        """Send one request and return the server's 2xx or 4xx reply. Connection errors,
        timeouts, 5xx and 429 are retried with a growing pause (Retry-After honoured, up
        to a cap); when they persist, raises `Unreachable`. A redirect raises `CliError`."""
        url = self.base_url + path
        data = None if payload is None else json.dumps(payload).encode()
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json, application/problem+json",
            "User-Agent": USER_AGENT,
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        opener = urllib.request.build_opener(_NoRedirect)
        problem = ""
        for attempt in range(1, ATTEMPTS + 1):
            pause = self.backoff * 2.0 ** (attempt - 1)
            request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 (scheme checked in from_env)
            try:
                response: http.client.HTTPResponse = opener.open(request, timeout=self.timeout)
                with response:
                    body, text = _decode(response.read(MAX_REPLY_BYTES))
                    return Reply(status=response.status, body=body, text=text)
            except urllib.error.HTTPError as error:
                try:
                    body, text = _decode(error.read(MAX_REPLY_BYTES))
                finally:
                    error.close()
                reply = Reply(status=error.code, body=body, text=text)
                if 300 <= error.code < 400:
                    location = error.headers.get("Location", "?")
                    raise CliError(
                        f"{method} {url} was redirected ({error.code}) to {location}: "
                        "set GONOGO_URL to the server's final address."
                    ) from None
                if error.code not in RETRY_STATUSES:
                    return reply
                problem = f"the server answered {_status_words(error.code)}"
                detail = _problem_text(reply)
                if detail:
                    problem += f": {detail}"
                asked = _retry_after(error.headers.get("Retry-After"))
                if asked is not None:
                    pause = asked
            except urllib.error.URLError as error:
                problem = f"could not reach {self.base_url}: {error.reason}"
                if isinstance(error.reason, ssl.SSLError):
                    break  # a certificate problem does not fix itself
            except (http.client.HTTPException, OSError) as error:  # timeouts, resets, bad replies
                problem = f"could not reach {self.base_url}: {error or type(error).__name__}"
            if attempt < ATTEMPTS:
                print(f"gonogo: {problem}; retrying in {pause:g} s", file=sys.stderr)
                time.sleep(pause)
        raise Unreachable(problem)


def _status_words(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        for key in ("display_name", "name", "username"):
            if isinstance(value.get(key), str):
                return str(value[key]).strip()
    return ""


def _problem_text(reply: Reply) -> str:
    if reply.body is None:
        text = " ".join(reply.text.split())
        return "" if text.startswith("<") else text[:200]  # a proxy's HTML page says nothing useful
    return _text(reply.body.get("detail")) or _text(reply.body.get("title"))


def _problem_code(type_uri: str) -> str:
    if not type_uri or type_uri == "about:blank":
        return ""
    return re.split(r"[/#:]", type_uri.rstrip("/"))[-1]


HINTS = {
    401: "Check GONOGO_TOKEN: it is missing, mistyped or revoked.",
    403: "The token belongs to another product, or lacks the scope this needs "
    "(results for `report`, verdict for `verdict`).",
    413: "The request body is over 1 MiB.",
}


def _problem_lines(reply: Reply) -> list[str]:
    """An RFC 9457 problem in plain lines: title, detail, each field error, a hint."""
    body = reply.body
    if body is None:
        text = _problem_text(reply)
        lines = [f"refused ({_status_words(reply.status)})" + (f": {text}" if text else "")]
    else:
        title = _text(body.get("title")) or _status_words(reply.status).split(" ", 1)[-1]
        code = _text(body.get("code")) or _problem_code(_text(body.get("type")))
        lines = [f"refused ({reply.status}): {title}" + (f" [{code}]" if code else "")]
        detail = _text(body.get("detail"))
        if detail and detail != title:
            lines.append(detail)
        errors = body.get("errors")
        if isinstance(errors, list):
            for item in errors:
                if isinstance(item, dict):
                    field, message = _text(item.get("field")), _text(item.get("message"))
                    lines.append(f"  {field or '(request)'}: {message}")
    if reply.status in HINTS:
        lines.append(HINTS[reply.status])
    return lines


def _print_problem(reply: Reply) -> None:
    for line in _problem_lines(reply):
        print(f"gonogo: {line}", file=sys.stderr)


# --- JUnit XML ----------------------------------------------------------------------


@dataclass(frozen=True)
class JunitTally:
    passed: int
    failed: int
    errors: int
    skipped: int
    failing: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors + self.skipped

    @property
    def status(self) -> str:
        """Any failure or error fails the gate; nothing run (or all skipped) is skipped."""
        if self.failed or self.errors:
            return "failed"
        if self.total == 0 or self.skipped == self.total:
            return "skipped"
        return "passed"

    def summary(self) -> str:
        """`131 passed, 1 failed, 0 errors, 2 skipped`, then the first failing tests that
        fit in the 500 characters a summary may hold."""
        text = f"{self.passed} passed, {self.failed} failed, {self.errors} errors, {self.skipped} skipped"
        if not self.failing:
            return text
        names: list[str] = []
        for index, name in enumerate(self.failing):
            left = len(self.failing) - index - 1
            more = f", and {left} more" if left else ""
            candidate = f"{text}; failing: {', '.join([*names, name])}{more}"
            if len(candidate) > SUMMARY_MAX:
                break
            names.append(name)
        if not names:
            return text
        left = len(self.failing) - len(names)
        return f"{text}; failing: {', '.join(names)}" + (f", and {left} more" if left else "")


class _Declaration(Exception):
    pass


def _refuse_declarations(data: bytes, name: str) -> None:
    """Expat pass before ElementTree: a DOCTYPE or ENTITY declaration (entity expansion
    bombs, external entities) is refused before anything is expanded. Expat reads the
    file's own encoding, so a UTF-16 file cannot hide one."""

    def doctype(*_args: object) -> None:
        raise _Declaration("a DOCTYPE declaration")

    def entity(*_args: object) -> None:
        raise _Declaration("an ENTITY declaration")

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    try:
        parser.Parse(data, True)
    except _Declaration as refused:
        raise CliError(f"{name}: refused: the file contains {refused}; JUnit XML needs none.") from None
    except expat.ExpatError as error:
        raise CliError(
            f"{name} is not well-formed XML: {expat.ErrorString(error.code)} "
            f"(line {error.lineno}, column {error.offset + 1})."
        ) from None


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _count(element: ElementTree.Element, attribute: str) -> int:
    try:
        return max(int(float(element.get(attribute, "0") or 0)), 0)
    except (ValueError, OverflowError):  # "", "n/a", "inf"
        return 0


def junit_tally(path: Path) -> JunitTally:
    """Count a JUnit XML report (pytest, Detox/Jest, Appium, Maven…): `<testsuites>` or a
    single `<testsuite>` root. Each `<testcase>` counts once — failed if it holds a
    `<failure>`, error if an `<error>`, skipped if a `<skipped>`. A report without test
    cases falls back to the suites' own counters."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CliError(f"cannot read {name}: {error.strerror or error}.") from None
    _refuse_declarations(data, name)
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 (declarations refused above)
    except ElementTree.ParseError as error:
        raise CliError(f"{name} is not well-formed XML: {error}.") from None
    if _local(root.tag) not in ("testsuites", "testsuite"):
        raise CliError(f"{name} is not a JUnit report: its root is <{_local(root.tag)}>, not <testsuites>.")

    cases = [element for element in root.iter() if _local(element.tag) == "testcase"]
    if cases:
        passed = failed = errors = skipped = 0
        failing: list[str] = []
        for case in cases:
            kinds = {_local(child.tag) for child in case}
            if "failure" in kinds:
                failed += 1
            elif "error" in kinds:
                errors += 1
            elif "skipped" in kinds:
                skipped += 1
                continue
            else:
                passed += 1
                continue
            case_name, class_name = case.get("name", "").strip(), case.get("classname", "").strip()
            failing.append(
                f"{class_name}.{case_name}" if class_name and case_name else case_name or class_name
            )
        return JunitTally(passed, failed, errors, skipped, tuple(test for test in failing if test))

    suites = [
        element
        for element in root.iter()
        if _local(element.tag) == "testsuite"
        and not any(_local(child.tag) == "testsuite" for child in element)
    ] or [root]
    tests = sum(_count(suite, "tests") for suite in suites)
    failed = sum(_count(suite, "failures") for suite in suites)
    errors = sum(_count(suite, "errors") for suite in suites)
    skipped = sum(_count(suite, "skipped") or _count(suite, "disabled") for suite in suites)
    return JunitTally(max(tests - failed - errors - skipped, 0), failed, errors, skipped)


# --- commands -----------------------------------------------------------------------


def default_run_id(environ: Mapping[str, str]) -> str:
    """A run id from the CI's own variables, so a retried step is a harmless duplicate:
    GitHub Actions `github-<GITHUB_RUN_ID>-<GITHUB_RUN_ATTEMPT>`, GitLab CI
    `gitlab-<CI_JOB_ID>`, Jenkins `<BUILD_TAG>`; elsewhere one id for this invocation, so
    the command's own retries never record a result twice."""
    if run := environ.get("GITHUB_RUN_ID", "").strip():
        return f"github-{run}-{environ.get('GITHUB_RUN_ATTEMPT', '').strip() or '1'}"
    if job := environ.get("CI_JOB_ID", "").strip():
        return f"gitlab-{job}"
    return environ.get("BUILD_TAG", "").strip() or f"cli-{uuid.uuid4().hex}"


def _option(args: argparse.Namespace, name: str) -> str | None:
    value: object = getattr(args, name, None)
    return value if isinstance(value, str) else None


def _required(args: argparse.Namespace, name: str) -> str:
    value = _option(args, name)
    if value is None:  # argparse already insists; this keeps the types honest
        raise CliError(f"--{name.replace('_', '-')} is required.")
    return value


def report(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """`gonogo report`: send one gate result."""
    gate = _required(args, "gate")
    junit = _option(args, "junit")
    summary = _option(args, "summary")
    client = Client.from_env(environ)
    if junit is not None:
        tally = junit_tally(Path(junit))
        status = tally.status
        if summary is None:
            summary = tally.summary()
        print(f"{junit}: {tally.summary()} → {status}")
    else:
        status = _required(args, "status")

    payload: Json = {
        "product": _required(args, "product"),
        "version": _required(args, "version"),
        "gate": gate,
        "status": status,
    }
    run_id = _option(args, "run_id")
    if run_id is None:
        run_id = default_run_id(environ)
    optional = {
        "build": _option(args, "build"),
        "commit": _option(args, "commit"),
        "run_id": run_id,
        "url": _option(args, "url"),
        "summary": summary,
        "finished_at": _option(args, "finished_at"),
    }
    payload.update({key: value for key, value in optional.items() if value})

    reply = client.call("POST", "/api/v1/results", payload)
    if reply.status >= 400:
        _print_problem(reply)
        return EXIT_REFUSED
    body = reply.body
    if body is None or not isinstance(body.get("duplicate"), bool):
        # A 2xx that is not our answer (a proxy's or login page): nothing is known to be recorded.
        print(
            f"gonogo: the server answered {reply.status} without a result; is GONOGO_URL the Go/No-Go server?",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if body.get("duplicate") is True:
        print(f"duplicate: nothing changed ({gate} → {status} was already recorded for this run)")
    else:
        gate_status = _text(body.get("gate_status"))
        print(f"accepted: {gate} → {status}" + (f" (gate now {gate_status})" if gate_status else ""))
    return EXIT_OK


@dataclass(frozen=True)
class Blocker:
    message: str
    url: str


@dataclass(frozen=True)
class Verdict:
    decision: str
    ready: bool
    blockers: tuple[Blocker, ...]
    decided_by: str
    decided_at: str
    reason: str

    @classmethod
    def from_reply(cls, reply: Reply, base_url: str) -> Verdict:
        body = reply.body
        decision = _text(body.get("decision")) if body else ""
        if body is None or decision not in ("go", "no_go", "pending"):
            raise CliError(f"the server's verdict is not one this tool understands: {reply.text[:300]!r}")
        blockers: list[Blocker] = []
        raw = body.get("blockers")
        items: list[object] = raw if isinstance(raw, list) else []
        for item in items:
            if isinstance(item, dict):
                url = _text(item.get("url"))
                if url.startswith("/"):
                    url = base_url + url  # a link the reader can open from the CI log
                message = _text(item.get("message")) or _text(item.get("code")) or "(no reason given)"
                blockers.append(Blocker(message=message, url=url))
        return cls(
            decision=decision,
            ready=body.get("ready") is True,
            blockers=tuple(blockers),
            decided_by=_text(body.get("decided_by")),
            decided_at=_text(body.get("decided_at")),
            reason=_text(body.get("reason")) or _text(body.get("rationale")),
        )

    def called(self) -> str:
        parts = [
            f"by {self.decided_by}" if self.decided_by else "",
            f"at {self.decided_at}" if self.decided_at else "",
        ]
        said = " ".join(part for part in parts if part)
        return f" (called {said})" if said else ""

    def blocker_lines(self) -> list[str]:
        return [f"- {b.message} ({b.url})" if b.url else f"- {b.message}" for b in self.blockers]


def _settle(verdict: Verdict, release: str) -> int:
    """Print what a pending verdict means when no more waiting is allowed."""
    if not verdict.ready:
        count = len(verdict.blockers)
        if count:
            print(f"blocked: {release} has {count} blocker{'s' if count != 1 else ''}:")
            for line in verdict.blocker_lines():
                print(line)
        else:
            print(f"blocked: {release} is not ready (the server gave no reasons)")
        return EXIT_REFUSED
    print(f"still pending: {release} is ready, waiting for the PM/PO's call")
    return EXIT_PENDING


def verdict(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """`gonogo verdict`: Go → 0; No-Go or blocked → 1; still pending → 3."""
    product = _required(args, "product")
    version = _required(args, "version")
    wait_arg: object = getattr(args, "wait", 0.0)
    wait = wait_arg if isinstance(wait_arg, float) else 0.0
    release = f"{product} {version}"
    interval = _env_seconds(environ, "GONOGO_POLL_INTERVAL", DEFAULT_POLL_INTERVAL, zero=False)
    client = Client.from_env(environ)
    path = "/api/v1/releases/{}/{}/verdict".format(
        urllib.parse.quote(product, safe=""), urllib.parse.quote(version, safe="")
    )
    deadline = time.monotonic() + wait
    if wait > 0:
        print(f"waiting up to {wait:g} s for the call on {release}", file=sys.stderr)
    answered = False
    last_state = ""
    while True:
        try:
            reply = client.call("GET", path)
        except Unreachable as error:
            remaining = deadline - time.monotonic()
            # A wrong address fails at once; a server that goes away mid-wait may come back.
            if not answered or remaining <= 0:
                raise
            print(f"gonogo: {error.message}; still waiting", file=sys.stderr)
            time.sleep(min(interval, remaining))
            continue
        answered = True
        if reply.status >= 400:
            _print_problem(reply)
            return EXIT_REFUSED
        current = Verdict.from_reply(reply, client.base_url)
        if current.decision == "go":
            print(f"Go: {release}{current.called()}")
            return EXIT_OK
        if current.decision == "no_go":
            print(f"No-Go: {release}{current.called()}")
            if current.reason:
                print(f"reason: {current.reason}")
            for line in current.blocker_lines():
                print(line)
            return EXIT_REFUSED
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return _settle(current, release)
        state = "ready, waiting for the call" if current.ready else f"blocked ({len(current.blockers)})"
        if state != last_state:  # say it when it changes, not at every poll
            print(f"pending: {release} {state}; asking again every {interval:g} s", file=sys.stderr)
            last_state = state
        time.sleep(min(interval, remaining))


# --- command line -------------------------------------------------------------------


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 <= seconds < float("inf"):
        raise argparse.ArgumentTypeError("must be zero or more seconds")
    return seconds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gonogo",
        description="Report CI results to Go/No-Go and ask for a release's verdict. "
        "Reads GONOGO_URL (the server's address) and GONOGO_TOKEN (an API token).",
        epilog="Exit codes: 0 accepted / Go; 1 refused / No-Go / blocked; "
        "2 usage error or server unreachable; 3 still pending when the wait ran out.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    send = commands.add_parser(
        "report",
        help="report one gate's result for a release",
        description="Report one gate's result for a release. Give --status, or --junit to read the "
        "status and summary from a JUnit XML report (any failure or error → failed; nothing run "
        "or all skipped → skipped). Exit 0 accepted (also a duplicate), 1 refused, 2 usage or "
        "unreachable.",
        epilog="Without --run-id, the run id comes from the CI: GitHub Actions "
        "github-$GITHUB_RUN_ID-$GITHUB_RUN_ATTEMPT, GitLab CI gitlab-$CI_JOB_ID, Jenkins $BUILD_TAG. "
        "The same run id and status sent twice is recorded once.",
    )
    send.add_argument("--product", required=True, help="product slug, e.g. ios-app")
    send.add_argument("--version", required=True, help="release version, e.g. 2.4.0")
    send.add_argument("--gate", required=True, help="gate key, e.g. contract or e2e-regression")
    source = send.add_mutually_exclusive_group(required=True)
    source.add_argument("--status", choices=STATUSES, metavar="STATUS", help="the result: %(choices)s")
    source.add_argument(
        "--junit", metavar="FILE.xml", help="take status and summary from this JUnit XML report"
    )
    send.add_argument("--summary", help="one line for the board (overrides the one --junit makes)")
    send.add_argument("--url", help="link to the CI run or its report")
    send.add_argument("--commit", metavar="SHA", help="the commit the result is for")
    send.add_argument("--build", help="the build number")
    send.add_argument("--run-id", metavar="ID", help="the CI run's id (default: from the CI's variables)")
    send.add_argument(
        "--finished-at", metavar="TIME", help="when the run finished, ISO 8601, e.g. 2026-11-27T08:00:00Z"
    )

    ask = commands.add_parser(
        "verdict",
        help="ask whether a release may ship",
        description="Ask for a release's verdict. Exit 0 Go; 1 No-Go or blocked (the blockers are "
        "printed); 3 still pending (ready, but nobody has made the call) when the wait ran out; "
        "2 usage or unreachable.",
        epilog="While waiting, the verdict is asked again every GONOGO_POLL_INTERVAL seconds (default 5).",
    )
    ask.add_argument("--product", required=True, help="product slug, e.g. ios-app")
    ask.add_argument("--version", required=True, help="release version, e.g. 2.4.0")
    ask.add_argument(
        "--wait",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="while the verdict is pending, keep asking for up to this long (default: answer at once)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            # A CI log may not be UTF-8 (Windows agents): a stray "→" must not crash the report.
            stream.reconfigure(errors="replace")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error argparse already explained
        return stop.code if isinstance(stop.code, int) else (EXIT_OK if stop.code is None else EXIT_USAGE)
    try:
        command: object = getattr(args, "command", None)
        if command == "report":
            return report(args, os.environ)
        return verdict(args, os.environ)
    except CliError as error:
        print(f"gonogo: {error.message}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        print("gonogo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
