"""The outside ends of feature flags, for the tests (and the browser journey): a fake
Unleash admin API and a Standard Webhooks kill receiver, each a threaded http.server on
127.0.0.1 answering as the real one documents and checking what it is sent.

Unleash (shapes from https://docs.getunleash.io/api/toggle-feature-environment-off and
.../get-feature, the admin API's OpenAPI schema):

- `POST /api/admin/projects/{project}/features/{feature}/environments/{env}/off` and
  `.../on`: the `Authorization` header must be the API token itself (`*:*.…`, no
  "Bearer"); answers 200 with the feature (`featureSchema`: `name`, `project`, `type`,
  `environments: [{"name", "enabled", "type", "sortOrder", …}]`), 401
  `{"id", "name": "AuthenticationRequired", "message"}` without a valid token, 403
  `NoAccessError`, 404 `NotFoundError` for an unknown project, feature or environment.
- `GET /api/admin/projects/{project}/features/{feature}`: 200 with the same featureSchema.
- `script` makes the next requests answer 401/404/500/… or be slow (no answer in time).

The kill receiver verifies `webhook-id`, `webhook-timestamp` and `webhook-signature`
with its own implementation of the spec (written from standardwebhooks.com, independent
of core.webhook_signing) and answers 200 `{"enabled": false}`, or 401 on a bad signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH_RE = re.compile(
    r"^/api/admin/projects/(?P<project>[^/]+)/features/(?P<feature>[^/]+)"
    r"(?:/environments/(?P<env>[^/]+)/(?P<op>on|off))?$"
)


@dataclass
class Scripted:
    status: int = 200
    delay: float = 0.0  # seconds before answering (a "slow" Unleash)
    body: dict[str, Any] | None = None
    # Only a request of this method takes it (None: the next request, whatever it is): a
    # read-back still under way must not take the answer meant for the next Kill.
    method: str | None = None


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _error(name: str, message: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "name": name, "message": message}


class _Server:
    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.script: list[Scripted] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        raise NotImplementedError

    def start(self) -> Any:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with fake._lock:
                    fake.seen.append(Seen(self.command, self.path, headers, body))
                    scripted = next((s for s in fake.script if s.method in (None, self.command)), None)
                    if scripted is not None:
                        fake.script.remove(scripted)
                if scripted is not None and scripted.delay:
                    time.sleep(scripted.delay)
                if scripted is not None and (scripted.status != 200 or scripted.body is not None):
                    status, reply = (
                        scripted.status,
                        scripted.body
                        or _error(
                            {401: "AuthenticationRequired", 403: "NoAccessError", 404: "NotFoundError"}.get(
                                scripted.status, "InternalError"
                            ),
                            f"scripted {scripted.status}",
                        ),
                    )
                else:
                    with fake._lock:
                        status, reply = fake.handle(self.command, self.path, headers, body)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _serve
            do_POST = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class FakeUnleash(_Server):
    """Features per project, each with per-environment `enabled`."""

    def __init__(self, token: str, *, project: str = "default") -> None:
        super().__init__()
        self.token = token
        self.project = project
        self.features: dict[str, dict[str, bool]] = {}

    def add(self, feature: str, **environments: bool) -> FakeUnleash:
        self.features[feature] = dict(environments)
        return self

    def enabled(self, feature: str, environment: str) -> bool:
        return self.features[feature][environment]

    def feature_schema(self, feature: str) -> dict[str, Any]:
        return {
            "name": feature,
            "type": "kill-switch",
            "description": None,
            "project": self.project,
            "enabled": any(self.features[feature].values()),
            "stale": False,
            "archived": False,
            "createdAt": "2026-11-02T10:00:00.000Z",
            "environments": [
                {
                    "name": env,
                    "featureName": feature,
                    "environment": env,
                    "type": "production" if env == "production" else "development",
                    "enabled": on,
                    "sortOrder": i,
                    "variantCount": 0,
                    "strategies": [],
                }
                for i, (env, on) in enumerate(self.features[feature].items())
            ],
        }

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        if headers.get("authorization") != self.token:
            return 401, _error(
                "AuthenticationRequired",
                "You must log in to use Unleash. Your request had no authorization header, so we could not "
                "authorize you.",
            )
        found = PATH_RE.match(path)
        if found is None:
            return 404, _error("NotFoundError", "Could not find the route")
        project, feature, env, op = found["project"], found["feature"], found["env"], found["op"]
        if project != self.project or feature not in self.features:
            return 404, _error("NotFoundError", f"Could not find feature flag with name {feature}")
        if op is None:
            if method != "GET":
                return 405, _error("MethodNotAllowed", "method not allowed")
            return 200, self.feature_schema(feature)
        if method != "POST":
            return 405, _error("MethodNotAllowed", "method not allowed")
        if env not in self.features[feature]:
            return 404, _error("NotFoundError", f"Could not find environment {env}")
        self.features[feature][env] = op == "on"
        return 200, self.feature_schema(feature)

    def offs(self) -> list[Seen]:
        return [s for s in self.seen if s.method == "POST" and s.path.endswith("/off")]


def sw_verify(secret: str, headers: dict[str, str], body: bytes, *, tolerance: int = 300) -> bool:
    """Standard Webhooks verification, from the spec: the secret is base64 after
    `whsec_`; sign `{id}.{timestamp}.{body}` with HMAC-SHA256; any `v1,<sig>` of the
    space-separated list matching is valid; the timestamp within five minutes."""
    msg_id, stamp, signatures = (
        headers.get("webhook-id"),
        headers.get("webhook-timestamp"),
        headers.get("webhook-signature", ""),
    )
    if not msg_id or not stamp or not stamp.isdigit() or abs(time.time() - int(stamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest())
    return any(
        part.startswith("v1,") and hmac.compare_digest(part[3:].encode(), expected)
        for part in signatures.split()
    )


@dataclass
class FakeKillReceiver(_Server):
    """A receiver of our `flag.kill` webhook: verifies the signature, switches its flag off."""

    secret: str = ""
    enabled: dict[str, bool] = field(default_factory=dict)
    stuck: bool = False  # takes the request but cannot switch it off (answers enabled: true)

    def __post_init__(self) -> None:
        super().__init__()

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        if method != "POST":
            return 405, {"error": "method not allowed"}
        if not sw_verify(self.secret, headers, body):
            return 401, {"error": "bad signature"}
        event = json.loads(body)
        if event.get("type") != "flag.kill":
            return 400, {"error": "unknown type"}
        if self.stuck:
            return 200, {"enabled": True}
        self.enabled[event["data"]["flag"]] = False
        return 200, {"enabled": False}
