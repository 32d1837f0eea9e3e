"""The outside ends of alert channels, for the tests (and the browser journey): a Slack
incoming webhook, a Standard Webhooks receiver and the PagerDuty Events API v2, each a
threaded http.server on 127.0.0.1 answering as the real one documents, and checking what
it is sent:

- Slack incoming webhook `POST <url>`: a JSON body with `text` and/or `blocks`; answers
  200 `ok`, or an error status with a short text body (`invalid_payload` 400,
  `no_service` 404, `rollup_error` 500, …). `answers` scripts the first replies.
- Standard Webhooks receiver: verifies `webhook-id`, `webhook-timestamp` and
  `webhook-signature` with its own implementation of the spec (`sw_sign`, written from
  standardwebhooks.com, independent of notifications.senders) and answers 204, or 401
  when the signature does not verify.
- PagerDuty `POST /v2/enqueue`: checks `routing_key`, `event_action`, `dedup_key` (and a
  trigger's `payload.summary`, `source`, `severity`); answers 202 `{"status": "success",
  "message": "Event processed", "dedup_key": …}`, or 400 `{"status": "invalid event",
  "message": "Event object is invalid", "errors": […]}`; `answers` can script a 429.

Every server keeps what it received (`received`, the valid ones only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


class ChannelServer:
    """One fake endpoint: `answers` are used first, one per request, then `answer()`."""

    def __init__(self, answers: list[Answer] | None = None) -> None:
        self.answers = list(answers or [])
        self.requests: list[Request] = []
        self.received: list[Request] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    def start(self) -> ChannelServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                    time.monotonic(),
                )
                with fake._lock:
                    fake.requests.append(request)
                    scripted = fake.answers.pop(0) if fake.answers else None
                answer = scripted or fake.answer(request)
                if scripted is None and 200 <= answer.status < 300:
                    with fake._lock:
                        fake.received.append(request)
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(answer.body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{self.path}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    path = "/"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, request: Request) -> Answer:
        return Answer(200, b"ok")

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Request]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return self.received
            time.sleep(0.05)
        raise AssertionError(f"{type(self).__name__} received {len(self.received)} of {count}")


class FakeSlack(ChannelServer):
    """An incoming webhook (`/services/T000/B000/XXXX`)."""

    path = "/services/T0001/B0001/abcdefghijklmnop"

    def answer(self, request: Request) -> Answer:
        try:
            body = request.json()
        except ValueError:
            return Answer(400, b"invalid_payload")
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return Answer(400, b"no_text")
        if request.path != self.path:
            return Answer(404, b"no_service")
        return Answer(200, b"ok")


# --- Standard Webhooks, from the spec (standardwebhooks.com), not from our sender ---------


def sw_sign(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """The spec's signature: HMAC-SHA256 over `msg_id.timestamp.body` with the base64
    decoded part of `whsec_…`, base64 encoded, as `v1,<sig>`."""
    key = base64.b64decode(secret.split("_", 1)[1] if secret.startswith("whsec_") else secret)
    content = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def sw_verify(secret: str, headers: dict[str, str], body: bytes, *, tolerance: int = 300) -> bool:
    msg_id, timestamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not msg_id or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = sw_sign(secret, msg_id, timestamp, body).split(",", 1)[1]
    for versioned in headers.get("webhook-signature", "").split(" "):
        version, _, signature = versioned.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return True
    return False


class FakeWebhookReceiver(ChannelServer):
    path = "/hooks/gonogo"

    def __init__(self, secret: str, answers: list[Answer] | None = None) -> None:
        super().__init__(answers)
        self.secret = secret

    def answer(self, request: Request) -> Answer:
        if not sw_verify(self.secret, request.headers, request.body):
            return Answer(401, b"bad signature")
        return Answer(204)


class FakePagerDuty(ChannelServer):
    path = "/v2/enqueue"

    def __init__(self, routing_key: str, answers: list[Answer] | None = None) -> None:
        super().__init__(answers)
        self.routing_key = routing_key

    def answer(self, request: Request) -> Answer:
        try:
            event = request.json()
        except ValueError:
            return self._invalid(["Event object is not valid JSON"])
        errors = []
        if event.get("routing_key") != self.routing_key:
            errors.append("'routing_key' is invalid")
        if event.get("event_action") not in ("trigger", "acknowledge", "resolve"):
            errors.append("'event_action' is missing or blank")
        if event.get("event_action") == "trigger":
            payload = event.get("payload") or {}
            for key in ("summary", "source", "severity"):
                if not payload.get(key):
                    errors.append(f"'payload.{key}' is missing or blank")
            if payload.get("severity") not in (None, "critical", "error", "warning", "info"):
                errors.append("'payload.severity' is invalid")
        elif not event.get("dedup_key"):
            errors.append("'dedup_key' is missing or blank")
        if errors:
            return self._invalid(errors)
        reply = {"status": "success", "message": "Event processed", "dedup_key": event.get("dedup_key")}
        return Answer(202, json.dumps(reply).encode(), "application/json")

    @staticmethod
    def _invalid(errors: list[str]) -> Answer:
        reply = {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
        return Answer(400, json.dumps(reply).encode(), "application/json")

    def actions(self) -> list[tuple[str, str]]:
        return [(r.json()["event_action"], r.json()["dedup_key"]) for r in self.received]
