"""Webhook receivers (CONTRACT §3). Each checks the provider's own authentication over
the raw body, stores the delivery, and answers; processing happens after commit."""

from __future__ import annotations

import logging
import time

from django.http import HttpRequest, HttpResponse, JsonResponse

from api.auth import api_view, json_object, raw_body
from core.problems import problem
from core.validation import NUL
from integrations.inbox import delivery_receive
from integrations.models import Integration
from integrations.providers import WEBHOOKS

logger = logging.getLogger(__name__)

# Headers kept with a delivery, for the admin and for reprocessing.
KEPT_HEADERS = (
    "Content-Type",
    "User-Agent",
    "X-GitHub-Event",
    "X-GitHub-Delivery",
    "X-GitHub-Hook-ID",
    "X-Gitlab-Event",
    "X-Gitlab-Event-UUID",
    "X-Gitlab-Instance",
    "Idempotency-Key",
)


# Integrations rarely change and every delivery needs one: each web process keeps them for
# a short while (a deactivated integration stops taking deliveries within that time).
CACHE_SECONDS = 30.0
_cache: dict[tuple[str, str], tuple[float, Integration | None]] = {}


def integration_cached(provider: str, slug: str) -> Integration | None:
    now = time.monotonic()
    hit = _cache.get((provider, slug))
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    integration = (
        Integration.objects.select_related("product")
        .filter(slug=slug, provider=provider, active=True)
        .first()
    )
    if len(_cache) > 1000:
        _cache.clear()
    _cache[(provider, slug)] = (now, integration)
    return integration


@api_view(("POST",))
def webhook_receive(request: HttpRequest, provider: str, slug: str) -> HttpResponse:
    """POST /api/v1/webhooks/<provider>/<integration-slug>: 401 unless signed with the
    integration's secret; `ping` → 200; a redelivery → 200 with `duplicate`; anything else
    accepted → 202 and processed in the background."""
    module = WEBHOOKS[provider]
    integration = integration_cached(provider, slug)
    if integration is None:
        return problem(404, "unknown_integration", f"No active {provider} integration “{slug}”.")
    body = raw_body(request)
    if not integration.secret():  # every signature would fail: say what to set instead
        # The variable's name goes to the server's log, not to whoever sent this.
        logger.warning(
            "webhook for integration %s refused: no secret; set %s on the server",
            integration.slug,
            integration.secret_env or "(no secret_env named)",
        )
        return problem(
            401,
            "secret_missing",
            "The server has no secret for this integration yet: its administrator must set the "
            "environment variable the integration names (the server's log says which), restart "
            "it, and then the delivery can be sent again.",
        )
    if not module.authenticate(integration, request.headers, body):
        return problem(
            401,
            "signature_invalid",
            "The delivery is not signed with this integration's secret. Check the secret set on the "
            "webhook against the one configured for this integration on the server.",
        )
    # A NUL (\u0000) in a signed payload is the sender's; it cannot be asked to change it,
    # and PostgreSQL text cannot hold one: the body is stored as it came (bytes) and NUL is
    # removed from everything read out of it, here and when the delivery is processed.
    payload = json_object(body, nul="remove")
    event = module.event_of(request.headers, payload).replace(NUL, "")
    if not event:
        return problem(
            400, "event_missing", "The delivery does not say which event it is (event header missing)."
        )
    used = event in module.EVENTS and event != "ping"
    headers = {
        name: request.headers[name].replace(NUL, "") for name in KEPT_HEADERS if name in request.headers
    }
    received = delivery_receive(
        source=provider,
        integration=integration,
        product=integration.product,
        body=body,
        event=event,
        key=module.delivery_key(request.headers, payload).replace(NUL, ""),
        headers=headers,
        state="received" if used else "ignored",
        outcome="" if used else f"event “{event}” does not report a gate",
    )
    reply = {"id": received.delivery_id, "duplicate": received.duplicate, "event": event}
    if event == "ping" or received.duplicate:
        return JsonResponse(reply, status=200)
    return JsonResponse(reply, status=202)
