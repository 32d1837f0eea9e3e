"""Slack's outside ends, for the tests: the Web API's chat.postMessage and an
interaction's response_url, each a threaded http.server on 127.0.0.1 that answers as
Slack documents and checks what it is sent.

- `POST /api/chat.postMessage` (api.slack.com/methods/chat.postMessage; the answers'
  shapes from its "Response" and "Errors" sections and the Web API's rate limits,
  api.slack.com/apis/rate-limits): `Authorization: Bearer <bot token>` or HTTP 200
  `{"ok": false, "error": "invalid_auth"}` (`not_authed` without the header); a JSON body
  (`application/json`) with `channel` and `text`; `blocks` checked as Block Kit requires
  (api.slack.com/reference/block-kit/blocks): a `header` with plain_text, an `input` block
  holding a `plain_text_input` with `dispatch_action` false, each `actions` block of Go
  (`style: primary`) and No-Go (`style: danger`) buttons with unique `action_id`s and a
  `value` of at most 2000 characters; a bad one is `{"ok": false, "error":
  "invalid_blocks", "errors": [...]}`. An unknown channel is `channel_not_found`, one the
  bot was not invited to `not_in_channel`; success is `{"ok": true, "channel": "C…",
  "ts": "1503435956.000247", "message": {...}}`. `answers` scripts the first replies (a 429
  with Retry-After, a 500).
- The response_url receiver (api.slack.com/interactivity/handling#message_responses):
  records each JSON body, answers 200 `{"ok": true}`; `answers` scripts failures.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    status: int
    body: Any = None  # JSON-able, or bytes
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "text/plain"
        return json.dumps(
            self.body if self.body is not None else {}
        ).encode(), "application/json; charset=utf-8"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class FakeServer:
    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.requests: list[Request] = []
        self.received: list[Request] = []  # the ones answered with success
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.base = ""

    def start(self) -> FakeServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    "POST",
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                with fake._lock:
                    fake.requests.append(request)
                    scripted = fake.answers.pop(0) if fake.answers else None
                answer = scripted or fake.answer(request)
                body, content_type = answer.encoded()
                self.send_response(answer.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, request: Request) -> Answer:
        raise NotImplementedError

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Request]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return self.received
            time.sleep(0.05)
        raise AssertionError(f"{type(self).__name__} received {len(self.received)} of {count}")


def blocks_problems(blocks: Any) -> list[str]:
    """What Block Kit would refuse in `blocks` (the rules our ask relies on)."""
    problems: list[str] = []
    if not isinstance(blocks, list) or not blocks or len(blocks) > 50:
        return ["blocks must be a list of 1 to 50 blocks"]
    action_ids: set[str] = set()
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        kind = block.get("type")
        if block.get("block_id"):
            if block["block_id"] in block_ids:
                problems.append(f"[{i}] duplicate block_id")
            block_ids.add(block["block_id"])
        if kind == "header":
            text = block.get("text") or {}
            if text.get("type") != "plain_text" or not text.get("text") or len(text["text"]) > 150:
                problems.append(f"[{i}] header needs plain_text up to 150 characters")
        elif kind == "section":
            text = block.get("text") or {}
            if text.get("type") not in ("mrkdwn", "plain_text") or not 0 < len(text.get("text", "")) <= 3000:
                problems.append(f"[{i}] section text must be 1 to 3000 characters")
        elif kind == "input":
            element = block.get("element") or {}
            if element.get("type") != "plain_text_input" or not element.get("action_id"):
                problems.append(f"[{i}] input must hold a plain_text_input with an action_id")
            if block.get("dispatch_action") is not False:
                problems.append(f"[{i}] the comment's input must not dispatch actions")
            if (block.get("label") or {}).get("type") != "plain_text":
                problems.append(f"[{i}] input needs a plain_text label")
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 0 < len(elements) <= 25:
                problems.append(f"[{i}] actions needs 1 to 25 elements")
            styles = [e.get("style") for e in elements]
            if styles != ["primary", "danger"]:
                problems.append(f"[{i}] expected a Go (primary) and a No-Go (danger) button, got {styles}")
            for e in elements:
                if e.get("type") != "button" or not e.get("action_id"):
                    problems.append(f"[{i}] each element must be a button with an action_id")
                    continue
                if e["action_id"] in action_ids:
                    problems.append(f"[{i}] duplicate action_id {e['action_id']}")
                action_ids.add(e["action_id"])
                if not isinstance(e.get("value"), str) or len(e["value"]) > 2000:
                    problems.append(f"[{i}] a button's value must be a string up to 2000 characters")
                if len((e.get("text") or {}).get("text", "")) > 75:
                    problems.append(f"[{i}] a button's text is at most 75 characters")
        elif kind != "context":
            problems.append(f"[{i}] unexpected block type {kind}")
    return problems


class FakeSlackApi(FakeServer):
    """chat.postMessage at `<base>/api/chat.postMessage`."""

    def __init__(self, token: str, channels: set[str], not_member: set[str] | None = None) -> None:
        super().__init__()
        self.token = token
        self.channels = channels
        self.not_member = not_member or set()
        self.posted: list[dict[str, Any]] = []
        self._ts = 1503435956.000247

    @property
    def url(self) -> str:
        return f"{self.base}/api"

    def answer(self, request: Request) -> Answer:
        if request.path != "/api/chat.postMessage":
            return Answer(404, {"ok": False, "error": "unknown_method"})
        auth = request.headers.get("authorization", "")
        if not auth:
            return Answer(200, {"ok": False, "error": "not_authed"})
        if auth != f"Bearer {self.token}":
            return Answer(200, {"ok": False, "error": "invalid_auth"})
        if not request.headers.get("content-type", "").startswith("application/json"):
            return Answer(200, {"ok": False, "error": "invalid_form_data"})
        try:
            body = request.json()
        except ValueError:
            return Answer(200, {"ok": False, "error": "invalid_json"})
        channel = body.get("channel")
        if channel not in self.channels:
            return Answer(200, {"ok": False, "error": "channel_not_found"})
        if channel in self.not_member:
            return Answer(200, {"ok": False, "error": "not_in_channel"})
        if not body.get("text"):
            return Answer(200, {"ok": False, "error": "no_text"})
        problems = blocks_problems(body.get("blocks"))
        if problems:
            return Answer(200, {"ok": False, "error": "invalid_blocks", "errors": problems})
        with self._lock:
            self._ts += 1
            ts = f"{self._ts:.6f}"
            self.posted.append(body)
            self.received.append(request)
        return Answer(
            200,
            {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "message": {
                    "type": "message",
                    "subtype": "bot_message",
                    "text": body["text"],
                    "ts": ts,
                    "bot_id": "B0GONOGO1",
                },
            },
        )


class FakeResponseUrl(FakeServer):
    """An interaction's response_url, `<base>/actions/T…/…/…`."""

    path = "/actions/T0TEAM0001/1234567890123/x0Ab1C2d3E4f5G6h7I8j9K0l"

    @property
    def url(self) -> str:
        return f"{self.base}{self.path}"

    def answer(self, request: Request) -> Answer:
        if request.path != self.path:
            return Answer(404, b"no_such_url")
        try:
            request.json()
        except ValueError:
            return Answer(400, b"invalid_payload")
        with self._lock:
            self.received.append(request)
        return Answer(200, {"ok": True})

    def bodies(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.received]
