"""Google's side, for the tests (and the browser journey): the OAuth 2.0 token endpoint
of a service account and the Android Publisher API v3's edits and tracks, each a threaded
http.server on 127.0.0.1 answering as Google documents, and checking what it is sent.

- Token endpoint (developers.google.com/identity/protocols/oauth2/service-account,
  "Making the access token request"; RFC 7523 §2.1): `POST` a form with `grant_type=
  urn:ietf:params:oauth:grant-type:jwt-bearer` and `assertion=<JWT>`. The JWT is verified
  here with the test key's *public* key (RS256), its header `kid` must be the key's
  `private_key_id`, claims `iss` = the client e-mail, `scope` = the androidpublisher
  scope, `aud` = this endpoint, `iat` and `exp` at most an hour apart, not expired.
  Answers `{"access_token", "expires_in": 3599, "token_type": "Bearer"}`, or OAuth's
  error shape `{"error": "invalid_grant", "error_description": …}` with 400.
- Android Publisher (developers.google.com/android-publisher/api-ref/rest/v3/edits,
  …/edits.tracks, Track and Release resources; errors as Google APIs' JSON error shape
  `{"error": {"code", "message", "status"}}`):
  `POST /androidpublisher/v3/applications/{package}/edits` → `{"id", "expiryTimeSeconds"}`;
  `GET|PUT …/edits/{id}/tracks/{track}`; `POST …/edits/{id}:commit`; `DELETE …/edits/{id}`
  (empty answer). It requires a bearer token the token endpoint issued, keeps edits and
  each track's committed state, and validates a track update: `versionCodes` strings of
  uploaded builds, `status` one of draft/inProgress/halted/completed, `userFraction` in
  (0, 1) and only for inProgress/halted (required for inProgress). `script` answers the
  next requests matching a method and path part with a given reply, or a delay (timeout).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

SCOPE = "https://www.googleapis.com/auth/androidpublisher"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able; None: an empty body
    delay: float = 0.0  # seconds before answering (a timeout, with a short client timeout)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def google_error(code: int, message: str, status: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


class _Server:
    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.scripts: list[tuple[str, str, Reply]] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    def script(self, method: str, path_part: str, *replies: Reply) -> None:
        """The next requests `method` whose path contains `path_part` get these replies."""
        with self.lock:
            self.scripts.extend((method, path_part, r) for r in replies)

    def _scripted(self, method: str, path: str) -> Reply | None:
        with self.lock:
            for i, (m, part, reply) in enumerate(self.scripts):
                if m == method and part in path:
                    del self.scripts[i]
                    return reply
        return None

    def handle(self, seen: Seen) -> Reply:
        raise NotImplementedError

    def start(self) -> Any:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                with fake.lock:
                    fake.seen.append(seen)
                reply = fake._scripted(self.command, self.path) or fake.handle(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                body = b"" if reply.body is None else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json; charset=UTF-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class FakeGoogleToken(_Server):
    """Google's OAuth 2.0 token endpoint at `/token` for one service account."""

    def __init__(self, *, public_key: Any, client_email: str, key_id: str) -> None:
        super().__init__()
        self.public_key, self.client_email, self.key_id = public_key, client_email, key_id
        self.tokens: set[str] = set()
        self.claims: list[dict[str, Any]] = []  # of every verified assertion

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def _refuse(self, why: str) -> Reply:
        return Reply(400, {"error": "invalid_grant", "error_description": why})

    def handle(self, seen: Seen) -> Reply:
        if seen.method != "POST" or urllib.parse.urlsplit(seen.path).path != "/token":
            return Reply(404, {"error": "not_found"})
        if not seen.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return Reply(400, {"error": "invalid_request", "error_description": "Expected a form."})
        form = urllib.parse.parse_qs(seen.body.decode())
        if form.get("grant_type") != [GRANT_TYPE]:
            return Reply(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type."})
        assertion = (form.get("assertion") or [""])[0]
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(
                assertion,
                self.public_key,
                algorithms=["RS256"],
                audience=self.token_uri,
                options={"require": ["iss", "scope", "aud", "iat", "exp"]},
            )
        except jwt.PyJWTError as exc:
            return self._refuse(f"Invalid JWT: {exc}")
        if header.get("kid") != self.key_id:
            return self._refuse("Invalid JWT Signature.")  # Google's words for an unknown key id
        if claims["iss"] != self.client_email:
            return self._refuse("Invalid issuer.")
        if claims["scope"] != SCOPE:
            return self._refuse(f"Unexpected scope {claims['scope']!r}.")
        if not 0 < claims["exp"] - claims["iat"] <= 3600:
            return self._refuse("Invalid JWT: exp must be at most an hour after iat.")
        token = f"ya29.{secrets.token_urlsafe(24)}"
        with self.lock:
            self.tokens.add(token)
            self.claims.append(claims)
        return Reply(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})


EDITS = re.compile(
    r"^/androidpublisher/v3/applications/(?P<pkg>[^/]+)/edits(?:/(?P<edit>[^/:]+)(?P<rest>.*))?$"
)
STATUSES = ("draft", "inProgress", "halted", "completed")


class FakePlay(_Server):
    """The Android Publisher API for one app: edits, and each track's committed releases."""

    def __init__(self, tokens: FakeGoogleToken, *, package: str, version_codes: list[str]) -> None:
        super().__init__()
        self.token_server, self.package = tokens, package
        self.uploaded = set(version_codes)  # the builds uploaded to Play
        self.tracks: dict[str, list[dict[str, Any]]] = {"production": []}
        self.edits: dict[str, dict[str, list[dict[str, Any]]]] = {}  # id → tracks changed in it
        self.commits: list[dict[str, Any]] = []  # each committed track update (the PUT's body)

    def release(self, version_code: str, track: str = "production") -> dict[str, Any] | None:
        with self.lock:
            for rel in self.tracks.get(track, []):
                if version_code in rel.get("versionCodes", []):
                    return dict(rel)
        return None

    def console_set(self, release: dict[str, Any], track: str = "production") -> None:
        """Someone changes the track in Play Console."""
        with self.lock:
            self.tracks[track] = [release]

    def handle(self, seen: Seen) -> Reply:
        token = seen.headers.get("authorization", "")
        if not token.startswith("Bearer ") or token[7:] not in self.token_server.tokens:
            return Reply(
                401,
                google_error(
                    401,
                    "Request is missing required authentication credential. Expected OAuth 2 access token.",
                    "UNAUTHENTICATED",
                ),
            )
        match = EDITS.match(urllib.parse.urlsplit(seen.path).path)
        if match is None:
            return Reply(404, google_error(404, "Not found.", "NOT_FOUND"))
        if urllib.parse.unquote(match["pkg"]) != self.package:
            return Reply(
                404,
                google_error(404, f"Package not found: {urllib.parse.unquote(match['pkg'])}.", "NOT_FOUND"),
            )
        edit, rest = match["edit"], match["rest"] or ""
        if edit is None:
            if seen.method != "POST":
                return Reply(405, google_error(405, "Method not allowed.", "METHOD_NOT_ALLOWED"))
            new = str(secrets.randbelow(10**19))
            with self.lock:
                self.edits[new] = {}
            return Reply(200, {"id": new, "expiryTimeSeconds": str(int(time.time()) + 3600)})
        with self.lock:
            known = edit in self.edits
        if not known:
            return Reply(404, google_error(404, f"No edit with id {edit}.", "NOT_FOUND"))
        if rest == ":commit" and seen.method == "POST":
            with self.lock:
                changed = self.edits.pop(edit)
                for name, releases in changed.items():
                    self.tracks[name] = releases
                    self.commits.append({"track": name, "releases": releases})
            return Reply(200, {"id": edit, "expiryTimeSeconds": str(int(time.time()) + 3600)})
        if rest == "" and seen.method == "DELETE":
            with self.lock:
                self.edits.pop(edit, None)
            return Reply(204)
        track_match = re.fullmatch(r"/tracks/(?P<track>[^/]+)", rest)
        if track_match is None:
            return Reply(404, google_error(404, "Not found.", "NOT_FOUND"))
        track = urllib.parse.unquote(track_match["track"])
        if seen.method == "GET":
            with self.lock:
                releases = self.edits[edit].get(track, self.tracks.get(track))
            if releases is None:
                return Reply(404, google_error(404, f"Track {track} not found.", "NOT_FOUND"))
            return Reply(200, {"track": track, "releases": releases})
        if seen.method == "PUT":
            return self._track_update(edit, track, seen)
        return Reply(405, google_error(405, "Method not allowed.", "METHOD_NOT_ALLOWED"))

    def _track_update(self, edit: str, track: str, seen: Seen) -> Reply:
        def bad(message: str) -> Reply:
            return Reply(400, google_error(400, message, "INVALID_ARGUMENT"))

        try:
            body = seen.json()
        except ValueError:
            return bad("Invalid JSON payload received.")
        if not isinstance(body, dict) or body.get("track") != track:
            return bad("The track in the body must be the track in the URL.")
        releases = body.get("releases")
        if not isinstance(releases, list) or not releases:
            return bad("releases is required.")
        for rel in releases:
            codes = rel.get("versionCodes") if isinstance(rel, dict) else None
            if (
                not isinstance(codes, list)
                or not codes
                or not all(isinstance(c, str) and c.isdigit() for c in codes)
            ):
                return bad("versionCodes must be a list of int64 strings.")
            missing = [c for c in codes if c not in self.uploaded]
            if missing:
                return bad(f"Version code {missing[0]} has not been uploaded: upload the bundle first.")
            status = rel.get("status")
            if status not in STATUSES:
                return bad(f"Invalid value at 'track.releases[0].status' ({status!r}).")
            fraction = rel.get("userFraction")
            if status in ("inProgress", "halted"):
                if (
                    not isinstance(fraction, int | float)
                    or isinstance(fraction, bool)
                    or not 0 < fraction < 1
                ):
                    return bad("userFraction must be strictly between 0 and 1 for a staged rollout.")
            elif fraction is not None:
                return bad("userFraction can only be set for inProgress or halted releases.")
        with self.lock:
            current = self.edits[edit].get(track, self.tracks.get(track, []))
            new_codes = {c for rel in releases for c in rel["versionCodes"]}
            kept = [
                r
                for r in current
                if r.get("status") == "completed"
                and not new_codes & set(r.get("versionCodes", []))
                and all(x.get("status") != "completed" for x in releases)
            ]
            self.edits[edit][track] = [*releases, *kept]
            answer = {"track": track, "releases": self.edits[edit][track]}
        return Reply(200, answer)
