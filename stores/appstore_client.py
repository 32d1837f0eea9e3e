"""App Store Connect API, the few calls the board needs (docs/app-store.md).

Auth (Apple, "Generating Tokens for API Requests"): a JWT signed ES256 with the team's
.p8 key; header `alg` ES256, `kid` the key ID, `typ` JWT; claims `iss` the issuer ID,
`iat`, `exp` at most 20 minutes later, `aud` `appstoreconnect-v1`; sent as
`Authorization: Bearer …`. A token is reused until shortly before it expires.

Calls: the version (`GET /v1/apps/{id}/appStoreVersions?filter[versionString]=…&
filter[platform]=IOS`), its phased release (`GET /v1/appStoreVersions/{id}/
appStoreVersionPhasedRelease`), and the change (`PATCH /v1/appStoreVersionPhasedReleases/
{id}` with `phasedReleaseState`). Errors are JSON:API `{"errors": [{"status", "code",
"title", "detail"}]}`: their title and detail are kept, in Apple's words.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import jwt
from django.conf import settings

from core.outbound import Answer, OutboundError, http_request
from core.secrets import secret_from_env

from .models import AppStoreSource

AUDIENCE = "appstoreconnect-v1"
TOKEN_LIFETIME = 19 * 60  # Apple takes at most 20 minutes
TOKEN_RENEW_BEFORE = 60  # a token this close to its end is not used again
PHASE_TYPE = "appStoreVersionPhasedReleases"

_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


class AscFailure(Exception):
    """No usable answer. `retry`: worth trying again (no answer, 429, 5xx); `status`:
    Apple's HTTP status when it answered; the message is Apple's words or ours."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry: bool = False,
        retry_after: float | None = None,
        duration_ms: int = 0,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry = retry
        self.retry_after = retry_after
        self.duration_ms = duration_ms


@dataclass(frozen=True)
class Phase:
    """A version's phased release as Apple says it."""

    id: str
    state: str
    current_day: int | None
    start_date: datetime | None
    total_pause_days: int | None


def tokens_forget() -> None:
    with _tokens_lock:
        _tokens.clear()


def token_for(source: AppStoreSource, *, now: float | None = None) -> str:
    """A signed token for `source`, the cached one while it has more than a minute left."""
    pem = secret_from_env(source.private_key_env, owner=f"App Store source {source.app_id}")
    if not pem:
        raise AscFailure(
            f"the private key is not set: put the .p8 key's text in {source.private_key_env or 'the variable'}"
        )
    now = time.time() if now is None else now
    key = (source.issuer_id, source.key_id, hashlib.sha256(pem.encode()).hexdigest())
    with _tokens_lock:
        cached = _tokens.get(key)
        if cached is not None and cached[1] - TOKEN_RENEW_BEFORE > now:
            return cached[0]
    issued = int(now)
    try:
        token = jwt.encode(
            {"iss": source.issuer_id, "iat": issued, "exp": issued + TOKEN_LIFETIME, "aud": AUDIENCE},
            pem.replace("\\n", "\n"),
            algorithm="ES256",
            headers={"kid": source.key_id, "typ": "JWT"},
        )
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        raise AscFailure(f"the private key in {source.private_key_env} is not a valid .p8 (EC) key") from exc
    with _tokens_lock:
        _tokens[key] = (token, float(issued + TOKEN_LIFETIME))
    return token


def apple_words(answer: Answer) -> str:
    """Apple's own words for a failed answer: each error's title and detail."""
    try:
        errors = answer.json().get("errors") or []
    except (ValueError, AttributeError):
        errors = []
    parts = []
    for e in errors if isinstance(errors, list) else []:
        if isinstance(e, dict):
            title, detail = str(e.get("title") or "").strip(), str(e.get("detail") or "").strip()
            parts.append(f"{title} — {detail}" if title and detail else title or detail)
    words = "; ".join(p for p in parts if p)
    return words or f"HTTP {answer.status} {answer.text(200)}".strip()


def _retry_after(answer: Answer) -> float | None:
    try:
        return float(answer.headers.get("retry-after", ""))
    except ValueError:
        return None


def _call(source: AppStoreSource, method: str, path: str, *, body: Any = None) -> Any:
    url = settings.GONOGO_APPSTORE_API_URL.rstrip("/") + path
    headers = {"Authorization": f"Bearer {token_for(source)}", "Accept": "application/json"}
    try:
        answer = http_request(
            method, url, headers=headers, json_body=body, timeout=settings.GONOGO_APPSTORE_TIMEOUT_SECONDS
        )
    except OutboundError as exc:
        raise AscFailure(f"App Store Connect did not answer: {exc}", retry=True) from exc
    if not answer.ok:
        if answer.status == 401:
            tokens_forget()  # a revoked or refused key: sign anew next time
        raise AscFailure(
            apple_words(answer),
            status=answer.status,
            retry=answer.status == 429 or answer.status >= 500,
            retry_after=_retry_after(answer),
            duration_ms=answer.duration_ms,
        )
    try:
        return answer.json()
    except ValueError as exc:
        raise AscFailure(
            "App Store Connect answered with something that is not JSON",
            status=answer.status,
            retry=True,
            duration_ms=answer.duration_ms,
        ) from exc


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def phase_from(document: Any) -> Phase | None:
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict):
        return None
    attrs = data.get("attributes") or {}
    return Phase(
        id=str(data.get("id") or ""),
        state=str(attrs.get("phasedReleaseState") or ""),
        current_day=_int(attrs.get("currentDayNumber")),
        start_date=_date(attrs.get("startDate")),
        total_pause_days=_int(attrs.get("totalPauseDuration")),
    )


def version_find(source: AppStoreSource, version: str) -> str | None:
    """The App Store version ID of `version` (iOS) of the source's app, None: no such version."""
    query = urlencode({"filter[versionString]": version, "filter[platform]": "IOS", "limit": "1"})
    document = _call(source, "GET", f"/v1/apps/{quote(source.app_id, safe='')}/appStoreVersions?{query}")
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        return None
    return str(data[0].get("id") or "") or None


def phase_get(source: AppStoreSource, version_id: str) -> Phase | None:
    """The version's phased release, None when phased release is not turned on for it."""
    path = f"/v1/appStoreVersions/{quote(version_id, safe='')}/appStoreVersionPhasedRelease"
    return phase_from(_call(source, "GET", path))


def phase_patch(source: AppStoreSource, phase_id: str, state: str) -> Phase | None:
    """Ask Apple to move the phased release to `state` (PAUSED, ACTIVE, COMPLETE)."""
    body = {"data": {"type": PHASE_TYPE, "id": phase_id, "attributes": {"phasedReleaseState": state}}}
    return phase_from(_call(source, "PATCH", f"/v1/{PHASE_TYPE}/{quote(phase_id, safe='')}", body=body))
