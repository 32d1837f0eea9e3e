"""One request to Slack and what its answer means: chat.postMessage on the Web API
(api.slack.com/methods/chat.postMessage: `Authorization: Bearer xoxb-…`, a JSON body;
HTTP 200 with `{"ok": true, "channel", "ts", "message"}` or `{"ok": false, "error"}`;
HTTP 429 with `Retry-After` when rate limited), and a message to an interaction's
`response_url` (api.slack.com/interactivity/handling#message_responses: 200 on success).
Nothing here retries: it says whether a retry may help (5xx, 429, no answer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.outbound import OutboundError, http_request

from . import config

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Outcome:
    ok: bool
    retry: bool = False
    retry_after: float | None = None
    status: int | None = None
    error: str = ""  # Slack's error code, or ours (timeout, unreachable, http_500, bad_answer, no_token)
    data: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """What an attempt keeps (never the token, never the response URL)."""
        return {"status": self.status, "ok": self.ok, "error": self.error}


def _retry_after(headers: dict[str, str]) -> float | None:
    try:
        return max(0.0, float(headers.get("retry-after", "")))
    except ValueError:
        return None


def _classify(answer: Any) -> Outcome | None:
    """The outcome for a status that says nothing about the body, else None."""
    if answer.status == 429:
        return Outcome(False, True, _retry_after(answer.headers), answer.status, "rate_limited")
    if answer.status >= 500:
        return Outcome(False, True, _retry_after(answer.headers), answer.status, f"http_{answer.status}")
    return None


def message_post(channel: str, text: str, blocks: list[dict[str, Any]]) -> Outcome:
    token = config.bot_token()
    if not token:
        return Outcome(False, False, None, None, "no_token")
    try:
        answer = http_request(
            "POST",
            f"{config.api_url()}/chat.postMessage",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json; charset=utf-8"},
            json_body={"channel": channel, "text": text, "blocks": blocks},
            timeout=TIMEOUT_SECONDS,
        )
    except OutboundError as exc:
        return Outcome(False, True, None, None, exc.code)
    early = _classify(answer)
    if early is not None:
        return early
    try:
        data = answer.json()
    except ValueError:
        return Outcome(False, answer.status != 200, None, answer.status, "bad_answer")
    if not isinstance(data, dict):
        return Outcome(False, False, None, answer.status, "bad_answer")
    if data.get("ok") is True:
        return Outcome(True, False, None, answer.status, "", data)
    error = str(data.get("error") or f"http_{answer.status}")[:100]
    return Outcome(
        False,
        error in ("ratelimited", "internal_error", "service_unavailable", "fatal_error"),
        None,
        answer.status,
        error,
        data,
    )


def response_post(url: str, body: dict[str, Any]) -> Outcome:
    try:
        answer = http_request("POST", url, json_body=body, timeout=TIMEOUT_SECONDS)
    except OutboundError as exc:
        return Outcome(False, True, None, None, exc.code)
    early = _classify(answer)
    if early is not None:
        return early
    if answer.ok:
        return Outcome(True, False, None, answer.status)
    # 404 `expired_url`/`used_url`, 400 `invalid_blocks`…: sending again will not help.
    return Outcome(False, False, None, answer.status, answer.text(100) or f"http_{answer.status}")
