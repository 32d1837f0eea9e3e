"""A small OpenID Connect provider for the tests: discovery, /authorize (auto-consent for
the configured person), /token (client id and secret, code, redirect URI and PKCE checked;
an RS256-signed ID token), /jwks and /userinfo, served by a threaded http.server.

Knobs for refusal tests: `id_token_changes` (claims to change or, with None, drop),
`sign_with` (another private key), `state_override`."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Person:
    sub: str = "kc-0001"
    preferred_username: str = "mina"
    email: str = "mina@example.com"
    given_name: str = "Mina"
    family_name: str = "Park"
    groups: list[str] = field(default_factory=lambda: ["release-mobile"])


class OIDCProvider:
    def __init__(
        self, *, client_id: str = "gonogo", client_secret: str = "s3cret", groups_claim: str = "groups"
    ):
        self.client_id = client_id
        self.client_secret = client_secret
        self.groups_claim = groups_claim
        self.person = Person()
        self.key = new_key()
        self.kid = "test-key-1"
        self.sign_with: rsa.RSAPrivateKey | None = None
        self.id_token_changes: dict[str, Any] = {}
        self.state_override: str | None = None
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, Person] = {}
        self.token_requests: list[dict[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self.issuer = ""

    # The server -----------------------------------------------------------------------
    def start(self) -> OIDCProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                provider._get(self)

            def do_POST(self) -> None:
                provider._post(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # Answers --------------------------------------------------------------------------
    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def claims(self) -> dict[str, Any]:
        p = self.person
        return {
            "sub": p.sub,
            "preferred_username": p.preferred_username,
            "email": p.email,
            "email_verified": True,
            "given_name": p.given_name,
            "family_name": p.family_name,
            self.groups_claim: list(p.groups),
        }

    def id_token(self, nonce: str | None) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            **self.claims(),
        }
        for key, value in self.id_token_changes.items():
            if value is None:
                payload.pop(key, None)
            else:
                payload[key] = value
        return jwt.encode(payload, self.sign_with or self.key, algorithm="RS256", headers={"kid": self.kid})

    # HTTP -----------------------------------------------------------------------------
    def _send(
        self, h: BaseHTTPRequestHandler, status: int, body: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        if body is not None:
            h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _get(self, h: BaseHTTPRequestHandler) -> None:
        url = urlparse(h.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/.well-known/openid-configuration":
            self._send(h, 200, self.discovery())
        elif url.path == "/jwks":
            self._send(h, 200, self.jwks())
        elif url.path == "/authorize":
            if query.get("client_id") != self.client_id or query.get("response_type") != "code":
                self._send(h, 400, {"error": "invalid_request"})
                return
            code = secrets.token_urlsafe(16)
            self.codes[code] = {
                "redirect_uri": query.get("redirect_uri", ""),
                "nonce": query.get("nonce"),
                "code_challenge": query.get("code_challenge"),
                "code_challenge_method": query.get("code_challenge_method"),
            }
            state = self.state_override if self.state_override is not None else query.get("state", "")
            location = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': state})}"
            self._send(h, 302, headers={"Location": location})
        elif url.path == "/userinfo":
            token = h.headers.get("Authorization", "").removeprefix("Bearer ")
            if token not in self.tokens:
                self._send(h, 401, {"error": "invalid_token"})
                return
            self._send(h, 200, self.claims())
        else:
            self._send(h, 404, {"error": "not_found"})

    def _post(self, h: BaseHTTPRequestHandler) -> None:
        url = urlparse(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(h.rfile.read(length).decode()).items()}
        if url.path != "/token":
            self._send(h, 404, {"error": "not_found"})
            return
        self.token_requests.append(form)
        auth = h.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        else:
            cid, secret = form.get("client_id", ""), form.get("client_secret", "")
        if (cid, secret) != (self.client_id, self.client_secret):
            self._send(h, 401, {"error": "invalid_client"})
            return
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if form.get("grant_type") != "authorization_code" or grant is None:
            self._send(h, 400, {"error": "invalid_grant"})
            return
        if form.get("redirect_uri") != grant["redirect_uri"]:
            self._send(h, 400, {"error": "invalid_grant", "error_description": "redirect_uri"})
            return
        if grant["code_challenge"]:
            verifier = form.get("code_verifier", "")
            digest = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            )
            if grant["code_challenge_method"] != "S256" or digest != grant["code_challenge"]:
                self._send(h, 400, {"error": "invalid_grant", "error_description": "PKCE"})
                return
        access = secrets.token_urlsafe(16)
        self.tokens[access] = self.person
        self._send(
            h,
            200,
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self.id_token(grant["nonce"]),
            },
        )
