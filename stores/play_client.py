"""Google Play's Android Publisher API v3, as the board needs it: an access token from a
service account's JSON key, a track update in an edit, and the track read back.

Auth is OAuth 2.0's JWT bearer grant for service accounts (RFC 7523, Google's "Using
OAuth 2.0 for Server to Server Applications"): a JWT signed RS256 with the key's
`private_key` (header `kid` = `private_key_id`), claims `iss` = `client_email`,
`scope` = the androidpublisher scope, `aud` = the key's `token_uri`, `iat` and `exp`
(at most an hour later), posted as a form (`grant_type=urn:ietf:params:oauth:grant-type:
jwt-bearer`, `assertion=…`) to `token_uri`, which answers `{"access_token", "expires_in",
"token_type": "Bearer"}`. The token is kept in this process until a minute before it
expires.

The edits flow (developers.google.com/android-publisher/api-ref/rest/v3/edits and
edits.tracks): `POST …/applications/{package}/edits` → `{"id", "expiryTimeSeconds"}`;
`PUT …/edits/{id}/tracks/{track}` with `{"track", "releases": [{"versionCodes": ["…"],
"status", "userFraction"}]}`; `POST …/edits/{id}:commit`. Reading: a new edit, `GET
…/edits/{id}/tracks/{track}`, then `DELETE …/edits/{id}`. Errors are Google's
`{"error": {"code", "message", "status"}}`: the message is kept.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings

from core.outbound import Answer, OutboundError, http_request
from core.secrets import secret_from_env

SCOPE = "https://www.googleapis.com/auth/androidpublisher"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_SECONDS = 3600  # Google's maximum
TOKEN_MARGIN_SECONDS = 60  # a cached token is renewed this long before it expires
# Answers worth another attempt later; every other 4xx (400, 401, 403, 404, …) is final.
RETRY_STATUSES = frozenset({408, 409, 429})


class PlayError(Exception):
    """Google Play did not do it. `retry`: another attempt later may work (no answer, a
    5xx, a 429); otherwise the answer is final (a bad key, no permission, a refusal)."""

    def __init__(self, message: str, *, retry: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.message, self.retry, self.status = message, retry, status


@dataclass(frozen=True)
class ServiceKey:
    client_email: str
    private_key: str
    private_key_id: str
    token_uri: str


def key_load(key_env: str, *, owner: str) -> ServiceKey:
    """The service account's JSON key held by the variable `key_env` (final error when
    it is missing or not such a key; never the key itself in the message)."""
    raw = secret_from_env(key_env, owner=owner)
    if not raw:
        raise PlayError(f"the variable {key_env} holds no service account key", retry=False)
    try:
        data = json.loads(raw)
    except ValueError:
        raise PlayError(f"the variable {key_env} does not hold a JSON key", retry=False) from None
    needed = ("client_email", "private_key", "private_key_id", "token_uri")
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) and data[k] for k in needed):
        raise PlayError(
            f"the key in {key_env} is not a service account JSON key (it needs {', '.join(needed)})",
            retry=False,
        )
    return ServiceKey(**{k: data[k] for k in needed})


_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def tokens_forget() -> None:
    """Drop every cached access token (tests; a key rotated)."""
    with _tokens_lock:
        _tokens.clear()


def _timeout() -> float:
    return float(getattr(settings, "GONOGO_PLAY_TIMEOUT_SECONDS", 15.0))


def assertion_make(key: ServiceKey, *, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": key.client_email,
        "scope": SCOPE,
        "aud": key.token_uri,
        "iat": issued,
        "exp": issued + ASSERTION_SECONDS,
    }
    try:
        return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.private_key_id})
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        raise PlayError(f"the service account's private_key cannot sign: {exc}", retry=False) from None


def access_token(key: ServiceKey) -> str:
    """A bearer token for the androidpublisher scope (cached until shortly before expiry)."""
    cache_key = (key.client_email, key.private_key_id, key.token_uri)
    with _tokens_lock:
        cached = _tokens.get(cache_key)
    if cached and cached[1] > time.time():
        return cached[0]
    body = urllib.parse.urlencode({"grant_type": GRANT_TYPE, "assertion": assertion_make(key)}).encode()
    answer = _send(
        "POST",
        key.token_uri,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=body,
        what="the token endpoint",
    )
    try:
        data = answer.json()
        token, expires_in = str(data["access_token"]), float(data.get("expires_in", 3600))
    except (ValueError, KeyError, TypeError):
        raise PlayError("the token endpoint's answer has no access_token", retry=True) from None
    with _tokens_lock:
        _tokens[cache_key] = (token, time.time() + max(0.0, expires_in - TOKEN_MARGIN_SECONDS))
    return token


def _forget(key: ServiceKey) -> None:
    with _tokens_lock:
        _tokens.pop((key.client_email, key.private_key_id, key.token_uri), None)


def error_message(answer: Answer) -> str:
    """Google's own words: `error.message` (APIs) or `error_description` (OAuth)."""
    try:
        data = answer.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:500]
        if isinstance(err, str):
            return f"{err}: {data.get('error_description', '')}".strip(": ")[:500]
    return answer.text(200) or f"HTTP {answer.status}"


def _send(method: str, url: str, *, what: str, **kwargs: Any) -> Answer:
    try:
        answer = http_request(method, url, timeout=_timeout(), **kwargs)
    except OutboundError as exc:
        raise PlayError(f"{what}: {exc}", retry=True) from None
    if answer.ok:
        return answer
    retry = answer.status >= 500 or answer.status in RETRY_STATUSES
    raise PlayError(
        f"{what} answered {answer.status}: {error_message(answer)}", retry=retry, status=answer.status
    )


def api_base() -> str:
    return str(getattr(settings, "GONOGO_PLAY_API_URL", "https://androidpublisher.googleapis.com")).rstrip(
        "/"
    )


class Publisher:
    """Android Publisher calls for one package, with one service account key."""

    def __init__(self, key: ServiceKey, package_name: str) -> None:
        self.key, self.package = key, package_name
        self.base = (
            f"{api_base()}/androidpublisher/v3/applications/{urllib.parse.quote(package_name, safe='')}"
        )

    def call(self, method: str, path: str, json_body: Any = None) -> Any:
        """One call with a bearer token; a 401 on a cached token gets one fresh token."""
        for fresh in (False, True):
            headers = {"Authorization": f"Bearer {access_token(self.key)}"}
            try:
                answer = _send(
                    method, f"{self.base}{path}", headers=headers, json_body=json_body, what="Google Play"
                )
            except PlayError as exc:
                if exc.status == 401 and not fresh:
                    _forget(self.key)
                    continue
                raise
            if not answer.body.strip():
                return {}
            try:
                return answer.json()
            except ValueError:
                raise PlayError(
                    "Google Play's answer is not JSON", retry=True, status=answer.status
                ) from None
        raise AssertionError("unreachable")

    def edit_open(self) -> str:
        data = self.call("POST", "/edits", {})
        edit = data.get("id") if isinstance(data, dict) else None
        if not edit:
            raise PlayError("Google Play opened no edit (no id in its answer)", retry=True)
        return urllib.parse.quote(str(edit), safe="")

    def edit_drop(self, edit: str) -> None:
        # An edit left open expires by itself; it changes nothing on the track.
        with contextlib.suppress(PlayError):
            self.call("DELETE", f"/edits/{edit}")

    def track_set(self, track: str, release: dict[str, Any]) -> dict[str, Any]:
        """Put one release on `track` and commit: the track as Play answered it."""
        edit = self.edit_open()
        path = f"/edits/{edit}/tracks/{urllib.parse.quote(track, safe='')}"
        try:
            answer = self.call("PUT", path, {"track": track, "releases": [release]})
            self.call("POST", f"/edits/{edit}:commit")
        except PlayError:
            self.edit_drop(edit)
            raise
        return answer if isinstance(answer, dict) else {}

    def track_get(self, track: str) -> dict[str, Any]:
        edit = self.edit_open()
        try:
            data = self.call("GET", f"/edits/{edit}/tracks/{urllib.parse.quote(track, safe='')}")
        finally:
            self.edit_drop(edit)
        return data if isinstance(data, dict) else {}


def release_body(*, version_code: str, status: str, user_fraction: float | None) -> dict[str, Any]:
    """One release of a track update: `userFraction` only while in progress or halted."""
    body: dict[str, Any] = {"versionCodes": [str(version_code)], "status": status}
    if status in ("inProgress", "halted") and user_fraction is not None:
        body["userFraction"] = user_fraction
    return body


def release_find(track: dict[str, Any], version_code: str) -> dict[str, Any] | None:
    """The release of `track` that holds `version_code` (None: Play does not list it)."""
    for rel in track.get("releases") or []:
        if isinstance(rel, dict) and str(version_code) in [str(v) for v in rel.get("versionCodes") or []]:
            return rel
    return None
