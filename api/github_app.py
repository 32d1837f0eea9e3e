"""POST /api/v1/webhooks/github-app: the GitHub App's webhook (docs/github-app.md). The
signature (`X-Hub-Signature-256`, HMAC-SHA256 of the raw body with the App's webhook
secret) is checked before anything; the delivery is stored and processed after commit."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse

from api.auth import api_view, json_object, raw_body
from core.problems import problem
from core.validation import NUL
from integrations.deployments import app_delivery_receive
from integrations.github_app import app_settings, signature_valid

logger = logging.getLogger(__name__)

KEPT_HEADERS = ("Content-Type", "User-Agent", "X-GitHub-Event", "X-GitHub-Delivery", "X-GitHub-Hook-ID",
                "X-GitHub-Hook-Installation-Target-ID", "X-GitHub-Hook-Installation-Target-Type")  # fmt: skip


@api_view(("POST",))
def github_app_webhook(request: HttpRequest) -> HttpResponse:
    """401 unless signed with the App's secret; `ping` → 200; a redelivery → 200 with
    `duplicate`; anything else → 202, processed in the background."""
    body = raw_body(request)
    secret = app_settings().webhook_secret
    if not secret:
        logger.warning("GitHub App webhook refused: set GONOGO_GITHUB_APP_WEBHOOK_SECRET on the server")
        return problem(
            401,
            "secret_missing",
            "The server has no webhook secret for the GitHub App yet: its administrator must set it "
            "(docs/github-app.md), restart, and then the delivery can be sent again.",
        )
    if not signature_valid(secret, body, request.headers.get("X-Hub-Signature-256", "")):
        return problem(
            401,
            "signature_invalid",
            "The delivery is not signed with the GitHub App's webhook secret (X-Hub-Signature-256). "
            "Check the secret set on the App against the server's.",
        )
    payload = json_object(body, nul="remove")
    event = request.headers.get("X-GitHub-Event", "").replace(NUL, "")
    if not event:
        return problem(400, "event_missing", "The delivery does not say which event it is (X-GitHub-Event).")
    action = payload.get("action")
    headers = {
        name: request.headers[name].replace(NUL, "") for name in KEPT_HEADERS if name in request.headers
    }
    delivery_id, duplicate = app_delivery_receive(
        key=request.headers.get("X-GitHub-Delivery", "").replace(NUL, ""),
        event=event,
        action=action.replace(NUL, "") if isinstance(action, str) else "",
        headers=headers,
        body=body,
    )
    reply = {"id": delivery_id, "duplicate": duplicate, "event": event}
    return JsonResponse(reply, status=200 if event == "ping" or duplicate else 202)
