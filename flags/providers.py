"""Talking to a flag's provider: switch it off, read its state back (docs/flags.md).

Unleash (admin API, https://docs.getunleash.io/api/toggle-feature-environment-off):
`POST {url}/api/admin/projects/{project}/features/{key}/environments/{environment}/off`
with the API token as the `Authorization` header (no "Bearer"), answered 200 with the
feature (featureSchema), or 400/401/403/404 with `{"id", "name", "message"}`; the state
is read back with `GET {url}/api/admin/projects/{project}/features/{key}`
(`environments[].name`, `environments[].enabled`).

Generic webhook: a POST signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
`webhook-signature`), body `{"type": "flag.kill", "timestamp", "data": {"product",
"flag", "environment", "release", "reason", "by"}}`; any 2xx means off (an answer
`{"enabled": true|false}` is read as the state it reports). A webhook has no read-back.

Nothing here raises: every call says what came back as an `Outcome` or a `Read`.
"""

from __future__ import annotations

import binascii
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.conf import settings

from core.outbound import Answer, OutboundError, http_request
from core.secrets import secret_from_env
from core.webhook_signing import webhook_key, webhook_signature

from .models import Flag, FlagProvider, FlagState, Kill

ANSWER_LIMIT = 500
NOT_RETRIED = (400, 401, 403, 404, 405, 409, 410, 422)


@dataclass(frozen=True)
class Outcome:
    """One attempt to switch a flag off. `retry`: another attempt may succeed (a timeout,
    a 5xx, a 429); `state`: what the provider's answer says the flag now is, if it says."""

    ok: bool
    status_code: int | None = None
    answer: str = ""
    error: str = ""
    retry: bool = True
    state: str | None = None


@dataclass(frozen=True)
class Read:
    """A flag's state as read back: `on`/`off`, or `unknown` with the reason."""

    state: str
    error: str = ""


def _timeout() -> float:
    return float(getattr(settings, "GONOGO_FLAG_TIMEOUT_SECONDS", 10.0))


def _unleash_base(flag: Flag) -> str:
    project = quote(flag.project or "default", safe="")
    return f"{flag.url.rstrip('/')}/api/admin/projects/{project}/features/{quote(flag.key, safe='')}"


def _unleash_token(flag: Flag) -> str:
    return secret_from_env(flag.token_env, owner=f"flag {flag.key}", demo_default=True)


def _unleash_message(answer: Answer) -> str:
    """Unleash's error body says why in `message`; else the start of the body."""
    try:
        body = answer.json()
    except ValueError:
        return answer.text()
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"][:ANSWER_LIMIT]
    return answer.text()


def _refusal(flag: Flag, answer: Answer) -> str:
    """What a 4xx means and what to fix, in plain words."""
    said = _unleash_message(answer) if flag.provider == FlagProvider.UNLEASH else answer.text()
    who = "Unleash" if flag.provider == FlagProvider.UNLEASH else "The webhook"
    variable = flag.token_env if flag.provider == FlagProvider.UNLEASH else flag.secret_env
    if answer.status == 401:
        what = "token" if flag.provider == FlagProvider.UNLEASH else "signature"
        fix = f"{who} refused the {what} (401): check {variable}"
    elif answer.status == 403:
        fix = (
            f"{who} refused the change (403): the token in {variable} lacks the right to "
            f"switch flags in “{flag.environment}”"
        )
    elif answer.status == 404:
        fix = (
            f"{who} knows no flag “{flag.key}” in project “{flag.project}” and environment "
            f"“{flag.environment}” (404): check the flag's key, project and environment"
        )
    else:
        fix = f"{who} refused the request ({answer.status})"
    return f"{fix}. {said}".strip(". ") if said else fix


def _environment_state(body: Any, environment: str) -> str | None:
    """`on`/`off` of `environment` in an Unleash feature (featureSchema), or None."""
    if not isinstance(body, dict):
        return None
    for env in body.get("environments") or []:
        if isinstance(env, dict) and env.get("name") == environment and isinstance(env.get("enabled"), bool):
            return FlagState.ON if env["enabled"] else FlagState.OFF
    return None


def _answer_outcome(flag: Flag, answer: Answer, state: str | None) -> Outcome:
    if answer.ok:
        return Outcome(ok=True, status_code=answer.status, answer=answer.text(ANSWER_LIMIT), state=state)
    if answer.status in NOT_RETRIED:
        return Outcome(
            ok=False,
            status_code=answer.status,
            answer=answer.text(ANSWER_LIMIT),
            error=_refusal(flag, answer),
            retry=False,
        )
    return Outcome(
        ok=False,
        status_code=answer.status,
        answer=answer.text(ANSWER_LIMIT),
        error=f"the provider answered {answer.status}: it will be tried again",
    )


def unleash_off(flag: Flag) -> Outcome:
    token = _unleash_token(flag)
    if not token:
        return Outcome(
            ok=False, error=f"{flag.token_env or 'token_env'} is not set: the token is missing", retry=False
        )
    url = f"{_unleash_base(flag)}/environments/{quote(flag.environment or 'production', safe='')}/off"
    try:
        answer = http_request(
            "POST", url, headers={"Authorization": token, "Accept": "application/json"}, timeout=_timeout()
        )
    except OutboundError as exc:
        return Outcome(ok=False, error=f"Unleash did not answer: {exc}")
    state = None
    if answer.ok:
        try:
            state = _environment_state(answer.json(), flag.environment)
        except ValueError:
            state = None
    return _answer_outcome(flag, answer, state)


def unleash_read(flag: Flag) -> Read:
    token = _unleash_token(flag)
    if not token:
        return Read(FlagState.UNKNOWN, f"{flag.token_env or 'token_env'} is not set: the token is missing")
    try:
        answer = http_request(
            "GET",
            _unleash_base(flag),
            headers={"Authorization": token, "Accept": "application/json"},
            timeout=_timeout(),
        )
    except OutboundError as exc:
        return Read(FlagState.UNKNOWN, f"Unleash did not answer: {exc}")
    if not answer.ok:
        error = (
            _refusal(flag, answer) if answer.status in NOT_RETRIED else f"Unleash answered {answer.status}"
        )
        return Read(FlagState.UNKNOWN, error)
    try:
        state = _environment_state(answer.json(), flag.environment)
    except ValueError:
        return Read(FlagState.UNKNOWN, "Unleash's answer is not JSON")
    if state is None:
        return Read(FlagState.UNKNOWN, f"Unleash's answer has no environment “{flag.environment}”")
    return Read(state)


def webhook_body(flag: Flag, kill: Kill) -> dict[str, Any]:
    release = kill.release
    return {
        "type": "flag.kill",
        "timestamp": kill.created_at.isoformat(),
        "data": {
            "product": flag.product.slug,
            "flag": flag.key,
            "environment": flag.environment,
            "release": release.version if release is not None else None,
            "reason": kill.reason,
            "by": kill.by_label,
        },
    }


def webhook_off(flag: Flag, kill: Kill) -> Outcome:
    secret = secret_from_env(flag.secret_env, owner=f"flag {flag.key}", demo_default=True)
    if not secret:
        return Outcome(
            ok=False,
            error=f"{flag.secret_env or 'secret_env'} is not set: the signing secret is missing",
            retry=False,
        )
    try:
        key = webhook_key(secret)
    except (binascii.Error, ValueError):
        return Outcome(ok=False, error=f"{flag.secret_env} is not a whsec_<base64> secret", retry=False)
    body = json.dumps(webhook_body(flag, kill), separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = int(time.time())  # fresh on every attempt; the id stays the same
    headers = {
        "Content-Type": "application/json",
        "webhook-id": kill.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signature(key, kill.message_id, timestamp, body),
    }
    try:
        answer = http_request("POST", flag.url, headers=headers, body=body, timeout=_timeout())
    except OutboundError as exc:
        return Outcome(ok=False, error=f"the webhook did not answer: {exc}")
    state: str | None = FlagState.OFF if answer.ok else None
    if answer.ok:
        try:
            said = answer.json()
        except ValueError:
            said = None
        if isinstance(said, dict) and isinstance(said.get("enabled"), bool):
            state = FlagState.ON if said["enabled"] else FlagState.OFF
    return _answer_outcome(flag, answer, state)


def flag_off(flag: Flag, kill: Kill) -> Outcome:
    """One attempt to switch `flag` off at its provider."""
    if flag.provider == FlagProvider.UNLEASH:
        return unleash_off(flag)
    return webhook_off(flag, kill)


def flag_read(flag: Flag) -> Read | None:
    """The flag's state read back now; None when its provider cannot be read (a webhook)."""
    if flag.provider == FlagProvider.UNLEASH:
        return unleash_read(flag)
    return None
