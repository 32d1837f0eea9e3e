"""One sender per channel kind: Slack-compatible incoming webhook (Block Kit), generic
webhook signed per Standard Webhooks, e-mail through Django's mail backend, PagerDuty
Events API v2 (docs/alerts.md). Each sends one delivery once and says what came back as
an `Outcome`; retrying is the caller's (`services.delivery_send`).
"""

from __future__ import annotations

import binascii
import json
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage

from core.outbound import Answer, OutboundError, http_request
from core.secrets import secret_from_env
from core.webhook_signing import webhook_key, webhook_signature

from .messages import Message, as_dict, message_for
from .models import PAGERDUTY_RESOLVES, PAGERDUTY_TRIGGERS, Channel, ChannelKind, Delivery

PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
# The events PagerDuty is sent, and what it does with each (docs/alerts.md): page on an
# automatic halt, a breach or a feature flag that could not be switched off, resolve once
# the rollout is resumed, rolled back or out.
PAGERDUTY_EVENTS = (*PAGERDUTY_TRIGGERS, *PAGERDUTY_RESOLVES)
ERROR_LIMIT = 500


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to. `retry`: whether another attempt may succeed (a timeout,
    a 5xx, a 429), not a refusal that will stay one (a 400 "invalid_payload")."""

    ok: bool
    status_code: int | None = None
    error: str = ""
    retry: bool = True
    retry_after: float | None = None
    duration_ms: int = 0


def pagerduty_action(event: str, data: dict[str, Any]) -> str | None:
    """`trigger`, `resolve`, or None when PagerDuty is not told about this event (a halt
    by a person: whoever halted is already on it)."""
    if event == "rollout.halted":
        halt = as_dict(data.get("halt"))
        automatic = data.get("automatic") or halt.get("kind") in ("breach", "smoke")
        return "trigger" if automatic else None
    if event == "health.breach" and data.get("state", "rolling_out") not in ("rolling_out", "halted"):
        return None  # after the rollout nothing would resolve it: the chat channels are told
    if event in PAGERDUTY_TRIGGERS:
        return "trigger"
    if event in PAGERDUTY_RESOLVES:
        return "resolve"
    return None


def kind_sends(kind: str, event: str, data: dict[str, Any]) -> bool:
    """Whether a channel of `kind` is sent `event` at all (PagerDuty: only what it acts on)."""
    if kind == ChannelKind.PAGERDUTY:
        return event == "channel.test" or pagerduty_action(event, data) is not None
    return True


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ERROR_LIMIT else text[: ERROR_LIMIT - 1] + "…"


def _answer_outcome(answer: Answer, error: str, *, retry_4xx: bool = False) -> Outcome:
    """A non-2xx answer: 408, 429 and 5xx are tried again; other 4xx only if `retry_4xx`."""
    retry = answer.status >= 500 or answer.status in (408, 425, 429) or retry_4xx
    retry_after = None
    raw = answer.headers.get("retry-after", "")
    if raw.strip().isdigit():
        retry_after = float(raw.strip())
    return Outcome(
        ok=False,
        status_code=answer.status,
        error=_short(error),
        retry=retry,
        retry_after=retry_after,
        duration_ms=answer.duration_ms,
    )


def _secret(channel: Channel, env_field: str, what: str) -> tuple[str, Outcome | None]:
    name = getattr(channel, env_field)
    if not name:
        return "", Outcome(ok=False, error=f"the channel names no {what} ({env_field})", retry=False)
    value = secret_from_env(name, owner=f"channel {channel.slug}")
    if not value:
        return "", Outcome(ok=False, error=f"{name} is not set in the server's environment")
    return value, None


def _post(url: str, *, body: bytes, headers: dict[str, str]) -> Answer | Outcome:
    try:
        return http_request("POST", url, body=body, headers={"Content-Type": "application/json", **headers})
    except OutboundError as exc:
        return Outcome(ok=False, error=_short(str(exc)))


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


# --- Slack ---------------------------------------------------------------------------


def _mrkdwn(text: str) -> str:
    """Slack's escaping: &, < and > only."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(message: Message) -> dict[str, Any]:
    """A Block Kit message: a header, the release and what happened, a button to the
    board, a context line with the time; `text` for notifications and old clients."""
    details = "\n".join(_mrkdwn(line) for line in message.lines)
    section = f"*{_mrkdwn(message.release)}*\n{details}" if message.release else details
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.title[:150], "emoji": True}},
    ]
    if section.strip():
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": section[:3000]}})
    if message.links:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": text[:75]}, "url": url}
                    for url, text in message.links[:5]
                ],
            }
        )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"{message.when} · Go/No-Go"}]})
    fallback = message.headline + (": " + " ".join(message.lines) if message.lines else "")
    return {"text": fallback[:3000], "blocks": blocks}


def send_slack(channel: Channel, delivery: Delivery, message: Message) -> Outcome:
    url, missing = _secret(channel, "url_env", "webhook URL")
    if missing:
        return missing
    answer = _post(url, body=_json(slack_body(message)), headers={})
    if isinstance(answer, Outcome):
        return answer
    if answer.ok:
        return Outcome(ok=True, status_code=answer.status, duration_ms=answer.duration_ms)
    # Slack says why in a short text body: invalid_payload, no_service, channel_is_archived…
    return _answer_outcome(answer, answer.text() or f"HTTP {answer.status}")


# --- Generic webhook (Standard Webhooks) ---------------------------------------------


def webhook_body(delivery: Delivery, message: Message) -> dict[str, Any]:
    stored = delivery.data or {}
    release = stored.get("release") or {}
    product = stored.get("product") or {}
    data = {
        "product": release.get("product") or product.get("slug"),
        "product_name": release.get("product_name") or product.get("name"),
        "version": release.get("version"),
        "build": release.get("build"),
        "board_url": release.get("board_url"),
        "summary": message.headline,
        **(stored.get("event") or {}),
    }
    return {"type": delivery.event, "timestamp": message.at.isoformat(), "data": data}


def send_webhook(channel: Channel, delivery: Delivery, message: Message) -> Outcome:
    url, missing = _secret(channel, "url_env", "webhook URL")
    if missing:
        return missing
    secret, missing = _secret(channel, "secret_env", "signing secret")
    if missing:
        return missing
    try:
        key = webhook_key(secret)
    except (binascii.Error, ValueError):
        return Outcome(ok=False, error=f"{channel.secret_env} is not a whsec_<base64> secret", retry=False)
    body = _json(webhook_body(delivery, message))
    timestamp = int(time.time())  # fresh on every attempt; the id stays the same
    headers = {
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signature(key, delivery.message_id, timestamp, body),
    }
    answer = _post(url, body=body, headers=headers)
    if isinstance(answer, Outcome):
        return answer
    if answer.ok:
        return Outcome(ok=True, status_code=answer.status, duration_ms=answer.duration_ms)
    return _answer_outcome(answer, f"HTTP {answer.status}: {answer.text()}".strip(": "), retry_4xx=True)


# --- E-mail ----------------------------------------------------------------------------


def email_subject(message: Message) -> str:
    return " ".join(f"[Go/No-Go] {message.headline}".split())[:200]


def send_email(channel: Channel, delivery: Delivery, message: Message) -> Outcome:
    if not channel.email:
        return Outcome(ok=False, error="the channel has no e-mail address", retry=False)
    mailer: dict[str, Any] = dict(settings.MAILERS.get("default", {}))
    smtp = str(mailer.get("BACKEND", "django.core.mail.backends.smtp.EmailBackend")).endswith(
        "smtp.EmailBackend"
    )
    if smtp and not dict(mailer.get("OPTIONS") or {}).get("host"):
        return Outcome(ok=False, error="no mail server: set GONOGO_SMTP_HOST", retry=False)
    mail = EmailMessage(
        subject=email_subject(message),
        body=message.text(),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[channel.email],
        headers={"X-Gonogo-Message-Id": delivery.message_id, "X-Gonogo-Event": delivery.event},
    )
    started = time.monotonic()
    try:
        mail.send(using="default")
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
        return Outcome(ok=False, error=_short(f"refused: {exc}"), retry=False, duration_ms=_ms(started))
    except smtplib.SMTPResponseException as exc:
        text = (
            exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        error = _short(f"SMTP {exc.smtp_code}: {text}")
        return Outcome(ok=False, error=error, retry=exc.smtp_code < 500, duration_ms=_ms(started))
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(ok=False, error=_short(f"mail server: {exc}"), duration_ms=_ms(started))
    return Outcome(ok=True, duration_ms=_ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


# --- PagerDuty Events API v2 -----------------------------------------------------------


def pagerduty_dedup_key(delivery: Delivery) -> str:
    """One alert per release: `gonogo/<product>/<version>`."""
    release = (delivery.data or {}).get("release") or {}
    if not release:
        return f"gonogo/test/{delivery.message_id}"
    return f"gonogo/{release.get('product')}/{release.get('version')}"


def pagerduty_body(
    delivery: Delivery, message: Message, *, routing_key: str, action: str, severity: str = "critical"
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": pagerduty_dedup_key(delivery),
    }
    if action != "trigger":
        return body
    stored = delivery.data or {}
    release = stored.get("release") or {}
    body["payload"] = {
        "summary": (message.headline + (": " + " ".join(message.lines[:1]) if message.lines else ""))[:1024],
        "source": release.get("product") or "gonogo",
        "severity": severity,
        "timestamp": message.at.isoformat(),
        "component": f"{release.get('version')} (build {release.get('build')})" if release else "gonogo",
        "group": "gonogo",
        "class": delivery.event,
        "custom_details": {"what": list(message.lines), "event": stored.get("event") or {}},
    }
    body["links"] = [{"href": url, "text": text} for url, text in message.links]
    body["client"] = "Go/No-Go"
    if message.board_url:
        body["client_url"] = message.board_url
    return body


def _pagerduty_error(answer: Answer) -> str:
    try:
        reply = answer.json()
    except ValueError:
        return answer.text() or f"HTTP {answer.status}"
    if not isinstance(reply, dict):
        return answer.text()
    errors = reply.get("errors")
    listed = [str(e) for e in errors] if isinstance(errors, list) else []
    words = [str(reply.get("status") or ""), str(reply.get("message") or ""), *listed]
    return "; ".join(w for w in words if w) or f"HTTP {answer.status}"


def _pagerduty_post(url: str, body: dict[str, Any]) -> Outcome:
    answer = _post(url, body=_json(body), headers={})
    if isinstance(answer, Outcome):
        return answer
    if answer.ok:
        return Outcome(ok=True, status_code=answer.status, duration_ms=answer.duration_ms)
    # PagerDuty: 400 is never retried, 429 and 5xx are (its Events API v2 overview).
    return _answer_outcome(answer, f"HTTP {answer.status}: {_pagerduty_error(answer)}")


def send_pagerduty(channel: Channel, delivery: Delivery, message: Message) -> Outcome:
    routing_key, missing = _secret(channel, "routing_key_env", "routing key")
    if missing:
        return missing
    url = PAGERDUTY_URL
    if channel.url_env:
        url, missing = _secret(channel, "url_env", "Events API address")
        if missing:
            return missing
    event_data = (delivery.data or {}).get("event") or {}
    if delivery.event == "channel.test":
        # A test opens an `info` alert and resolves it at once: the key is checked, nobody paged.
        opened = _pagerduty_post(
            url, pagerduty_body(delivery, message, routing_key=routing_key, action="trigger", severity="info")
        )
        if not opened.ok:
            return opened
        closed = _pagerduty_post(
            url, pagerduty_body(delivery, message, routing_key=routing_key, action="resolve")
        )
        note = "" if closed.ok else f"the test alert was not resolved: {closed.error}"
        return Outcome(ok=True, status_code=opened.status_code, error=note, duration_ms=opened.duration_ms)
    action = pagerduty_action(delivery.event, event_data)
    if action is None:
        return Outcome(ok=False, error=f"PagerDuty is not sent {delivery.event}", retry=False)
    return _pagerduty_post(url, pagerduty_body(delivery, message, routing_key=routing_key, action=action))


SENDERS: dict[str, Callable[[Channel, Delivery, Message], Outcome]] = {
    ChannelKind.SLACK: send_slack,
    ChannelKind.WEBHOOK: send_webhook,
    ChannelKind.EMAIL: send_email,
    ChannelKind.PAGERDUTY: send_pagerduty,
}


def delivery_deliver(delivery: Delivery) -> Outcome:
    """Send `delivery` to its channel once, in its product's language."""
    sender = SENDERS.get(delivery.channel.kind)
    if sender is None:
        return Outcome(ok=False, error=f"unknown channel kind {delivery.channel.kind}", retry=False)
    return sender(delivery.channel, delivery, message_for(delivery))
