"""The GitHub App's credentials and its calls to GitHub (docs/github-app.md).

- The App authenticates as itself with a JWT signed RS256 by its private key: `iat` a
  minute in the past (clock drift), `exp` at most ten minutes after that, `iss` the App id
  (GitHub: "Generating a JSON Web Token (JWT) for a GitHub App").
- With it, `POST /app/installations/{id}/access_tokens` gives an installation access token
  (`{"token", "expires_at"}`, valid one hour), kept here until five minutes before it
  expires; calls for a repository use it (`Authorization: Bearer <token>`).
- The configuration comes from the environment only: `GONOGO_GITHUB_APP_ID`,
  `GONOGO_GITHUB_APP_PRIVATE_KEY` (PEM), `GONOGO_GITHUB_APP_WEBHOOK_SECRET`,
  `GONOGO_GITHUB_API_URL` (default https://api.github.com; GitHub Enterprise Server:
  `https://HOST/api/v3`). No token or key is ever logged or stored.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import jwt

from core.outbound import Answer, OutboundError, http_request
from core.secrets import secret_from_env

DEFAULT_API = "https://api.github.com"
API_VERSION = "2022-11-28"
TIMEOUT = 10.0
TOKEN_MARGIN_SECONDS = 300  # a cached installation token is renewed this long before it expires


@dataclass(frozen=True)
class AppSettings:
    app_id: str
    private_key: str
    webhook_secret: str
    api_url: str

    @property
    def configured(self) -> bool:
        return bool(self.app_id and self.private_key)


def app_settings() -> AppSettings:
    return AppSettings(
        app_id=os.environ.get("GONOGO_GITHUB_APP_ID", "").strip(),
        private_key=secret_from_env("GONOGO_GITHUB_APP_PRIVATE_KEY", owner="GitHub App").replace("\\n", "\n"),
        webhook_secret=secret_from_env("GONOGO_GITHUB_APP_WEBHOOK_SECRET", owner="GitHub App"),
        api_url=(os.environ.get("GONOGO_GITHUB_API_URL", "") or DEFAULT_API).rstrip("/"),
    )


def signature_valid(secret: str, body: bytes, header: str) -> bool:
    """`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`, compared in
    constant time. No secret: nothing is valid."""
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    given = header.removeprefix("sha256=").strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected.encode(), given)


def on_api(url: str, api_url: str) -> bool:
    """Is `url` on the configured API base (same scheme, host, port, under its path)? Only
    there does an installation token go."""
    a, b = urlsplit(url), urlsplit(api_url)
    if (a.scheme, a.netloc.lower()) != (b.scheme, b.netloc.lower()):
        return False
    base = b.path.rstrip("/")
    return a.path == base or a.path.startswith(base + "/")


class GitHubFailure(Exception):
    """A call to GitHub that did not succeed. `retry`: worth trying again (5xx, 429,
    timeouts); otherwise GitHub refused it (4xx) and `message` says GitHub's words."""

    def __init__(self, message: str, *, status: int | None = None, retry: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retry = retry


def app_jwt(settings: AppSettings, *, now: float | None = None) -> str:
    now = int(now if now is not None else time.time())
    claims = {"iat": now - 60, "exp": now + 540, "iss": settings.app_id}
    return jwt.encode(claims, settings.private_key, algorithm="RS256")


def _headers(bearer: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {bearer}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
    }


def _github_message(answer: Answer) -> str:
    try:
        data = answer.json()
    except ValueError:
        return answer.text(200) or f"HTTP {answer.status}"
    if isinstance(data, dict) and data.get("message"):
        return f"{data['message']}"[:300]
    return f"HTTP {answer.status}"


def failure_of(answer: Answer) -> GitHubFailure:
    retry = answer.status >= 500 or answer.status == 429
    return GitHubFailure(
        f"GitHub answered {answer.status}: {_github_message(answer)}", status=answer.status, retry=retry
    )


_tokens: dict[tuple[str, int], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def tokens_forget() -> None:
    with _tokens_lock:
        _tokens.clear()


def installation_token(installation_id: int, settings: AppSettings | None = None) -> str:
    """An installation access token, from the cache while it has more than five minutes
    left, else fresh from GitHub."""
    settings = settings or app_settings()
    if not settings.configured:
        raise GitHubFailure("The GitHub App is not configured: set GONOGO_GITHUB_APP_ID and its private key.")
    key = (settings.api_url, int(installation_id))
    with _tokens_lock:
        hit = _tokens.get(key)
        if hit and hit[1] - time.time() > TOKEN_MARGIN_SECONDS:
            return hit[0]
    try:
        answer = http_request(
            "POST",
            f"{settings.api_url}/app/installations/{int(installation_id)}/access_tokens",
            headers=_headers(app_jwt(settings)),
            timeout=TIMEOUT,
        )
    except OutboundError as exc:
        raise GitHubFailure(f"GitHub could not be reached for a token: {exc}", retry=True) from exc
    except (ValueError, TypeError) as exc:  # a key PyJWT cannot read
        raise GitHubFailure(f"The App's private key cannot sign: {exc.__class__.__name__}") from exc
    if not answer.ok:
        raise failure_of(answer)
    try:
        data = answer.json()
        token = str(data["token"])
        expires = datetime.fromisoformat(str(data["expires_at"]).replace("Z", "+00:00")).timestamp()
    except (ValueError, KeyError, TypeError) as exc:
        raise GitHubFailure("GitHub's token answer is not the documented JSON", retry=True) from exc
    with _tokens_lock:
        _tokens[key] = (token, expires)
    return token


def installation_call(
    method: str, url: str, *, installation_id: int, json_body: Any, settings: AppSettings | None = None
) -> Answer:
    """One call with the installation's token, only to the configured API. A 401 (a token
    revoked early) drops the cached token and tries once more with a new one."""
    settings = settings or app_settings()
    if not on_api(url, settings.api_url):
        raise GitHubFailure("The address is not on the configured GitHub API: nothing was sent there.")
    for attempt in (1, 2):
        token = installation_token(installation_id, settings)
        try:
            answer = http_request(method, url, headers=_headers(token), json_body=json_body, timeout=TIMEOUT)
        except OutboundError as exc:
            raise GitHubFailure(f"GitHub could not be reached: {exc}", retry=True) from exc
        if answer.status == 401 and attempt == 1:
            with _tokens_lock:
                _tokens.pop((settings.api_url, int(installation_id)), None)
            continue
        if not answer.ok:
            raise failure_of(answer)
        return answer
    raise AssertionError("unreachable")
