"""A fake GitHub REST API for the GitHub App tests: a threaded http.server on 127.0.0.1
that answers as GitHub documents and checks what it is sent.

Shapes (docs.github.com, REST API version 2022-11-28):
- `POST /app/installations/{installation_id}/access_tokens` ("Create an installation
  access token for an app"): `Authorization: Bearer <App JWT>`; the JWT must verify RS256
  with the App's public key, `iss` the App id, `iat` in the past, `exp` after now and at
  most 10 minutes after `iat` ("Generating a JSON Web Token (JWT) for a GitHub App").
  Answers 201 `{"token": "ghs_…", "expires_at": "…Z", "permissions": {…},
  "repository_selection": "selected"}`; a bad JWT: 401 `{"message": "A JSON web token could
  not be decoded", "documentation_url": …}`.
- `POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule` ("Review
  custom deployment protection rules for a workflow run"): the installation token; body
  `{"environment_name", "state": "approved"|"rejected", "comment"}`; answers 204.
- `POST /repos/{owner}/{repo}/statuses/{sha}` ("Create a commit status"): the
  installation token; body `{"state", "target_url", "description", "context"}`; answers
  201 with the status object.
- Errors are `{"message": …, "documentation_url": …}` with their status.

`fail` scripts answers: a list of (path fragment, status) used once each, first match
first (e.g. ("statuses", 502)); status 0 means hang until the client times out.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

APP_ID = "424242"
DOCS = "https://docs.github.com/rest"


def rsa_key_pem() -> tuple[str, Any]:
    """A fresh RSA key: (private PEM for the App, public key for the fake)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem, key.public_key()


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class FakeGitHub:
    def __init__(self, public_key: Any, *, app_id: str = APP_ID, token_seconds: int = 3600) -> None:
        self.public_key = public_key
        self.app_id = app_id
        self.token_seconds = token_seconds
        self.tokens: dict[str, int] = {}  # token → installation id
        self.calls: list[Call] = []
        self.jwt_claims: list[dict[str, Any]] = []
        self.fail: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # What was sent, for the tests.
    def answered(self) -> list[Call]:
        return [c for c in self.calls if c.path.endswith("/deployment_protection_rule") and c.status == 204]

    def statuses(self) -> list[Call]:
        return [c for c in self.calls if "/statuses/" in c.path and c.status == 201]

    def token_calls(self) -> list[Call]:
        return [c for c in self.calls if c.path.endswith("/access_tokens")]

    def _reply(self, h: BaseHTTPRequestHandler, status: int, body: Any = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        h.send_response(status)
        if body is not None:
            h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _error(self, h: BaseHTTPRequestHandler, status: int, message: str) -> int:
        self._reply(h, status, {"message": message, "documentation_url": DOCS, "status": str(status)})
        return status

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in h.headers.items()}  # names are case-insensitive
        path = h.path
        status = self._route(h, path, headers, body)
        with self._lock:
            self.calls.append(Call(h.command, path, headers, body, status, time.time()))

    def _scripted(self, path: str) -> int | None:
        with self._lock:
            for i, (fragment, status) in enumerate(self.fail):
                if fragment in path:
                    del self.fail[i]
                    return status
        return None

    def _route(self, h: BaseHTTPRequestHandler, path: str, headers: dict[str, str], body: bytes) -> int:
        scripted = self._scripted(path)
        if scripted == 0:
            time.sleep(3)  # longer than the client waits in the tests
            return 0
        if scripted is not None:
            return self._error(h, scripted, "Server Error" if scripted >= 500 else "Validation Failed")
        if headers.get("accept") != "application/vnd.github+json" or not headers.get("x-github-api-version"):
            return self._error(h, 415, "Unsupported 'Accept' or missing X-GitHub-Api-Version")
        match = re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)
        if match and h.command == "POST":
            return self._token(h, headers, int(match.group(1)))
        installation = self._installation_of(headers)
        if installation is None:
            return self._error(h, 401, "Bad credentials")
        if re.fullmatch(r"/repos/[^/]+/[^/]+/actions/runs/\d+/deployment_protection_rule", path):
            data = json.loads(body or b"null")
            if (
                not isinstance(data, dict)
                or data.get("state") not in ("approved", "rejected")
                or not isinstance(data.get("environment_name"), str)
                or not isinstance(data.get("comment"), str)
            ):
                return self._error(h, 422, "Invalid request: environment_name, state and comment")
            self._reply(h, 204)
            return 204
        match = re.fullmatch(r"/repos/([^/]+)/([^/]+)/statuses/([0-9a-f]{40})", path)
        if match:
            data = json.loads(body or b"null")
            if (
                not isinstance(data, dict)
                or data.get("state") not in ("error", "failure", "pending", "success")
                or len(data.get("description") or "") > 140
            ):
                return self._error(h, 422, "Validation Failed")
            self._reply(
                h,
                201,
                {
                    "url": f"{self.url}/repos/{match.group(1)}/{match.group(2)}/statuses/{match.group(3)}",
                    "id": len(self.calls) + 1,
                    "state": data["state"],
                    "description": data.get("description"),
                    "target_url": data.get("target_url"),
                    "context": data.get("context") or "default",
                    "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            )
            return 201
        return self._error(h, 404, "Not Found")

    def _installation_of(self, headers: dict[str, str]) -> int | None:
        kind, _sp, token = headers.get("authorization", "").partition(" ")
        if kind.lower() not in ("bearer", "token"):
            return None
        return self.tokens.get(token.strip())

    def _token(self, h: BaseHTTPRequestHandler, headers: dict[str, str], installation: int) -> int:
        kind, _sp, raw = headers.get("authorization", "").partition(" ")
        if kind != "Bearer":
            return self._error(h, 401, "A JSON web token could not be decoded")
        try:
            claims = jwt.decode(
                raw, self.public_key, algorithms=["RS256"], options={"require": ["iat", "exp", "iss"]}
            )
        except jwt.PyJWTError as exc:
            return self._error(h, 401, f"A JSON web token could not be decoded ({exc.__class__.__name__})")
        now = time.time()
        if str(claims["iss"]) != self.app_id:
            return self._error(h, 401, "'Issuer' claim ('iss') must be an Integer")
        if claims["iat"] > now + 1 or claims["exp"] - claims["iat"] > 600 or claims["exp"] > now + 600:
            return self._error(h, 401, "'Expiration time' claim ('exp') is too far in the future")
        self.jwt_claims.append(claims)
        token = "ghs_" + secrets.token_urlsafe(27)
        with self._lock:
            self.tokens[token] = installation
        expires = datetime.now(UTC) + timedelta(seconds=self.token_seconds)
        self._reply(
            h,
            201,
            {
                "token": token,
                "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "permissions": {
                    "actions": "read",
                    "deployments": "write",
                    "statuses": "write",
                    "metadata": "read",
                },
                "repository_selection": "selected",
            },
        )
        return 201
