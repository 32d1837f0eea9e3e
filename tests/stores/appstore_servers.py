"""A fake App Store Connect API for the tests, on 127.0.0.1, answering as Apple documents
and checking what it is sent. Shapes from Apple's App Store Connect API documentation
("Generating Tokens for API Requests"; "Read the App Store Version Information of an
App" `GET /v1/apps/{id}/appStoreVersions`; "Read the App Store Version Phased Release
Information" `GET /v1/appStoreVersions/{id}/appStoreVersionPhasedRelease`; "Modify an App
Store Version Phased Release" `PATCH /v1/appStoreVersionPhasedReleases/{id}`; the
`AppStoreVersionPhasedRelease` attributes `phasedReleaseState` INACTIVE|ACTIVE|PAUSED|
COMPLETE, `startDate`, `totalPauseDuration`, `currentDayNumber`; "Error Responses":
`{"errors": [{"id", "status", "code", "title", "detail"}]}`), as also modelled by
fastlane's spaceship (`connect_api/models/app_store_version_phased_release.rb`).

Every request must carry `Authorization: Bearer <JWT>`: ES256, verified with the test
key's public key; header `kid` the key ID and `typ` JWT; claims `iss` the issuer ID,
`aud` `appstoreconnect-v1`, `iat` and `exp` with exp - iat ≤ 1200 and not expired: else
401 NOT_AUTHORIZED, as Apple answers. A PATCH body must be the JSON:API document
`{"data": {"type": "appStoreVersionPhasedReleases", "id": <the path's id>, "attributes":
{"phasedReleaseState": PAUSED|ACTIVE|COMPLETE}}}`: else 409 ENTITY_ERROR. The state
rules Apple applies: nothing moves before the version is released (INACTIVE); a
complete phased release does not move again; paused days add up to at most 30. Asking
for the state it is already in is answered with the resource (our assumption: Apple's
documentation does not say). `script` queues answers (an HTTP status with Apple's error
shape, or "timeout": no answer in time) used before the real one.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ISSUER_ID = "57246542-96fe-1a63-e053-0824d011072a"
KEY_ID = "2X9R4HXF34"
APP_ID = "1234567890"

_key = ec.generate_private_key(ec.SECP256R1())
# The .p8 file Apple lets one download once: a PKCS#8 PEM of a P-256 key.
PRIVATE_PEM = _key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
PUBLIC_KEY = _key.public_key()
OTHER_PEM = (
    ec.generate_private_key(ec.SECP256R1())
    .private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    .decode()
)

STATES = ("INACTIVE", "ACTIVE", "PAUSED", "COMPLETE")


def apple_error(status: int, code: str, title: str, detail: str) -> dict[str, Any]:
    return {
        "errors": [
            {
                "id": f"e-{time.monotonic_ns()}",
                "status": str(status),
                "code": code,
                "title": title,
                "detail": detail,
            }
        ]
    }


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    claims: dict[str, Any] | None = None
    token: str = ""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class PhasedRelease:
    id: str
    state: str = "ACTIVE"
    day: int | None = 1
    start_date: str | None = "2026-12-01T09:00:00Z"
    pause_days: int = 0

    def resource(self) -> dict[str, Any]:
        return {
            "type": "appStoreVersionPhasedReleases",
            "id": self.id,
            "attributes": {
                "phasedReleaseState": self.state,
                "startDate": self.start_date,
                "totalPauseDuration": self.pause_days,
                "currentDayNumber": self.day,
            },
            "links": {
                "self": f"https://api.appstoreconnect.apple.com/v1/appStoreVersionPhasedReleases/{self.id}"
            },
        }


@dataclass
class FakeAppStoreConnect:
    issuer_id: str = ISSUER_ID
    key_id: str = KEY_ID
    app_id: str = APP_ID
    versions: dict[str, str] = field(default_factory=dict)  # version string → version id
    phases: dict[str, PhasedRelease] = field(default_factory=dict)  # version id → its phased release
    script: list[Any] = field(default_factory=list)  # (status, body) | "timeout", used first
    timeout_seconds: float = 1.5
    requests: list[Seen] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- the world ---------------------------------------------------------------------
    def add_version(
        self, version: str, *, state: str = "ACTIVE", day: int | None = 1, phased: bool = True
    ) -> PhasedRelease | None:
        version_id = f"v-{len(self.versions) + 1}-{version}"
        self.versions[version] = version_id
        if not phased:
            return None
        phase = PhasedRelease(id=f"pr-{len(self.phases) + 1}", state=state, day=day)
        self.phases[version_id] = phase
        return phase

    def phase_by_id(self, phase_id: str) -> PhasedRelease | None:
        return next((p for p in self.phases.values() if p.id == phase_id), None)

    def patches(self) -> list[Seen]:
        return [r for r in self.requests if r.method == "PATCH"]

    # --- checks --------------------------------------------------------------------------
    def _auth(self, headers: dict[str, str]) -> tuple[dict[str, Any] | None, str, str]:
        value = headers.get("authorization", "")
        if not value.startswith("Bearer "):
            return None, "", "no bearer token"
        token = value[len("Bearer ") :]
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(
                token,
                PUBLIC_KEY,
                algorithms=["ES256"],
                audience="appstoreconnect-v1",
                issuer=self.issuer_id,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            return None, token, f"token: {exc}"
        if header.get("alg") != "ES256" or header.get("kid") != self.key_id or header.get("typ") != "JWT":
            return None, token, f"header {header}"
        if claims["exp"] - claims["iat"] > 1200:
            return None, token, "exp more than 20 minutes after iat"
        return claims, token, ""

    def _answer(self, seen: Seen) -> tuple[int, Any]:
        if seen.claims is None:
            return 401, apple_error(
                401,
                "NOT_AUTHORIZED",
                "Authentication credentials are missing or invalid.",
                "Provide a properly configured and signed bearer token, and make sure that it has not expired.",
            )
        parts = seen.path.strip("/").split("/")
        if (
            seen.method == "GET"
            and len(parts) == 4
            and parts[:2] == ["v1", "apps"]
            and parts[3] == "appStoreVersions"
        ):
            if parts[2] != self.app_id:
                return 404, apple_error(
                    404,
                    "NOT_FOUND",
                    "The specified resource does not exist",
                    f"There is no resource of type 'apps' with id '{parts[2]}'",
                )
            if seen.query.get("filter[platform]") != ["IOS"]:
                return 400, apple_error(
                    400,
                    "PARAMETER_ERROR.INVALID",
                    "A parameter has an invalid value",
                    "filter[platform] must be IOS here",
                )
            wanted = (seen.query.get("filter[versionString]") or [""])[0]
            data = [
                {
                    "type": "appStoreVersions",
                    "id": vid,
                    "attributes": {"platform": "IOS", "versionString": v, "appStoreState": "READY_FOR_SALE"},
                }
                for v, vid in self.versions.items()
                if v == wanted
            ]
            return 200, {
                "data": data,
                "links": {"self": seen.path},
                "meta": {"paging": {"total": len(data), "limit": 1}},
            }
        if (
            seen.method == "GET"
            and len(parts) == 4
            and parts[:2] == ["v1", "appStoreVersions"]
            and parts[3] == "appStoreVersionPhasedRelease"
        ):
            if parts[2] not in self.versions.values():
                return 404, apple_error(
                    404,
                    "NOT_FOUND",
                    "The specified resource does not exist",
                    f"There is no resource of type 'appStoreVersions' with id '{parts[2]}'",
                )
            phase = self.phases.get(parts[2])
            return 200, {"data": phase.resource() if phase else None, "links": {"self": seen.path}}
        if (
            seen.method == "PATCH"
            and len(parts) == 3
            and parts[:2] == ["v1", "appStoreVersionPhasedReleases"]
        ):
            return self._patch(parts[2], seen)
        return 404, apple_error(
            404,
            "NOT_FOUND",
            "The specified resource does not exist",
            f"The path {seen.path} could not be found.",
        )

    def _patch(self, phase_id: str, seen: Seen) -> tuple[int, Any]:
        phase = self.phase_by_id(phase_id)
        if phase is None:
            return 404, apple_error(
                404,
                "NOT_FOUND",
                "The specified resource does not exist",
                f"There is no resource of type 'appStoreVersionPhasedReleases' with id '{phase_id}'",
            )
        if not seen.headers.get("content-type", "").startswith("application/json"):
            return 415, apple_error(
                415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported media type", "Send application/json."
            )
        try:
            body = seen.json()
            data = body["data"]
            state = data["attributes"]["phasedReleaseState"]
            assert data["type"] == "appStoreVersionPhasedReleases" and data["id"] == phase_id
            assert set(data) <= {"type", "id", "attributes"} and set(data["attributes"]) == {
                "phasedReleaseState"
            }
        except (ValueError, KeyError, TypeError, AssertionError):
            return 409, apple_error(
                409,
                "ENTITY_ERROR",
                "The provided entity is invalid",
                "The request body is not a valid appStoreVersionPhasedReleases update.",
            )
        if state not in ("PAUSED", "ACTIVE", "COMPLETE"):
            return 409, apple_error(
                409,
                "ENTITY_ERROR.ATTRIBUTE.INVALID",
                "An attribute value is invalid.",
                f"'{state}' is not a valid value for the attribute 'phasedReleaseState'.",
            )
        if state == phase.state:
            return 200, {"data": phase.resource(), "links": {"self": seen.path}}
        if phase.state == "INACTIVE":
            return 409, apple_error(
                409,
                "ENTITY_ERROR.ATTRIBUTE.INVALID",
                "An attribute value is invalid.",
                "The phased release has not started: release the version first.",
            )
        if phase.state == "COMPLETE":
            return 409, apple_error(
                409,
                "ENTITY_ERROR.ATTRIBUTE.INVALID",
                "An attribute value is invalid.",
                "A phased release that is complete cannot be paused or resumed.",
            )
        if state == "PAUSED" and phase.pause_days >= 30:
            return 409, apple_error(
                409,
                "ENTITY_ERROR.ATTRIBUTE.INVALID",
                "An attribute value is invalid.",
                "A phased release can be paused for no more than 30 days in total.",
            )
        phase.state = state
        if state == "COMPLETE":
            phase.day = 7
        return 200, {"data": phase.resource(), "links": {"self": seen.path}}

    # --- the server ----------------------------------------------------------------------
    def start(self) -> FakeAppStoreConnect:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                split = urlsplit(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                seen = Seen(self.command, split.path, parse_qs(split.query), headers, self.rfile.read(length))
                seen.claims, seen.token, _why = fake._auth(headers)
                with fake._lock:
                    fake.requests.append(seen)
                    scripted = fake.script.pop(0) if fake.script else None
                    if scripted is None:
                        status, body = fake._answer(seen)
                headers_out: dict[str, str] = {}
                if scripted == "timeout":
                    time.sleep(fake.timeout_seconds)
                    status, body = 503, apple_error(503, "UNAVAILABLE", "Service Unavailable", "late")
                elif scripted is not None:
                    status, body = scripted[0], scripted[1]
                    if len(scripted) > 2:
                        headers_out = scripted[2]
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    for k, v in headers_out.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(raw)
                except OSError:
                    pass

            do_GET = _handle
            do_PATCH = _handle
            do_POST = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
