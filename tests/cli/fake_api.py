"""A real local HTTP server that plays the API for the `gonogo` CLI tests (no database)."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler

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
    """The server's problem document (core/problems.py)."""
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


ACCEPTED = Answer(202, {"id": 17, "duplicate": False, "gate_status": "failed"})
REPORT = ["report", "--product", "ios-app", "--version", "2.4.0", "--gate", "contract"]


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


def handler_for(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    """A request handler that records each request in `api` and sends its scripted answer."""

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
