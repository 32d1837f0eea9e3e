"""A small Prometheus and a small Sentry for the tests (and bench/sampling.py), served by a
threaded http.server on 127.0.0.1, answering in the shapes their HTTP APIs document:

- Prometheus `GET /api/v1/query?query=<PromQL>`: `{"status": "success", "data":
  {"resultType": "vector", "result": [{"metric": {…}, "value": [<unix time>, "<number>"]}]}}`,
  and for a refused query `{"status": "error", "errorType": "bad_data", "error": "…"}`.
- Sentry `GET /api/0/organizations/<org>/sessions/?project=…&field=crash_free_rate(session)
  &query=release:"…"&statsPeriod=24h&interval=1h`: `{"start", "end", "intervals", "groups":
  [{"by": {}, "totals": {"crash_free_rate(session)": 0.998}, "series": {…}}], "query"}`.

Both check the bearer token (401 otherwise) and keep every request they got.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlparse


@dataclass
class Seen:
    path: str
    params: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-able, or bytes sent as they are
    delay: float = 0.0


class FakeServer:
    """The server part: subclasses answer `reply(path, params)`."""

    def __init__(self, *, token: str = "") -> None:
        self.token = token
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._get(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        parsed = urlparse(handler.path)
        params = parse_qs(parsed.query, keep_blank_values=True)
        with self._lock:
            self.seen.append(Seen(parsed.path, params, {k.lower(): v for k, v in handler.headers.items()}))
        if self.token and handler.headers.get("Authorization") != f"Bearer {self.token}":
            reply = Reply(401, self.unauthorized())
        else:
            reply = self.reply(parsed.path, params)
        if reply.delay:
            time.sleep(reply.delay)
        body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:  # the client gave up (a timeout test)
            pass

    def unauthorized(self) -> Any:
        return {}

    def reply(self, path: str, params: dict[str, list[str]]) -> Reply:
        raise NotImplementedError


def vector(*values: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A Prometheus instant-query answer with one series per value."""
    return {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                {"metric": {**(labels or {}), "instance": f"i{n}"}, "value": [time.time(), v]}
                for n, v in enumerate(values)
            ],
        },
    }


def scalar(value: str) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": "scalar", "result": [time.time(), value]}}


def prometheus_error(error_type: str, error: str) -> dict[str, Any]:
    return {"status": "error", "errorType": error_type, "error": error}


class FakePrometheus(FakeServer):
    """Answers each query by the first rule whose needle the PromQL contains; a query no
    rule matches gets an empty vector. `rules`: needle → Reply, or a callable of the
    PromQL giving one."""

    def __init__(self, *, token: str = "") -> None:
        super().__init__(token=token)
        self.rules: dict[str, Reply | Callable[[str], Reply]] = {}

    def unauthorized(self) -> Any:
        return prometheus_error("unauthorized", "missing or wrong bearer token")

    def reply(self, path: str, params: dict[str, list[str]]) -> Reply:
        if path != "/api/v1/query" or "query" not in params:
            return Reply(400, prometheus_error("bad_data", "unknown path or no query"))
        query = params["query"][0]
        for needle, rule in self.rules.items():
            if needle in query:
                return rule(query) if callable(rule) else rule
        return Reply(200, vector())

    @property
    def queries(self) -> list[str]:
        return [s.params["query"][0] for s in self.seen if "query" in s.params]


def sessions(total: float | None, *, groups: int = 1) -> dict[str, Any]:
    """Sentry's session statistics with `groups` groups (0: none) and the given total."""
    return {
        "start": "2026-12-01T00:00:00Z",
        "end": "2026-12-02T00:00:00Z",
        "intervals": ["2026-12-01T00:00:00Z", "2026-12-01T01:00:00Z"],
        "groups": [
            {
                "by": {},
                "totals": {"crash_free_rate(session)": total},
                "series": {"crash_free_rate(session)": [total, total]},
            }
            for _ in range(groups)
        ],
        "query": "",
    }


class FakeSentry(FakeServer):
    """Answers the organisation's sessions endpoint with `answer` for `release` (the
    release named in the query) and with no groups for any other release."""

    def __init__(self, *, token: str = "", org: str = "acme") -> None:
        super().__init__(token=token)
        self.org = org
        self.answers: dict[str, Reply] = {}

    def unauthorized(self) -> Any:
        return {"detail": "Invalid token"}

    def reply(self, path: str, params: dict[str, list[str]]) -> Reply:
        if path != f"/api/0/organizations/{self.org}/sessions/":
            return Reply(404, {"detail": "The requested resource does not exist"})
        if params.get("field") != ["crash_free_rate(session)"] or not params.get("project"):
            return Reply(400, {"detail": 'Request is missing a "field"'})
        query = params.get("query", [""])[0]
        for release, reply in self.answers.items():
            if query == f'release:"{release}"':
                return reply
        return Reply(200, sessions(None, groups=0))
