"""The Slack pages: the board's **Ask in Slack** (PM/PO) and the interactions endpoint
Slack posts button presses to (`POST /slack/interactions`, docs/slack.md)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.capabilities import Capability, ensure_can
from accounts.permissions import viewer_required
from board.views import after_action, refused
from core.errors import DomainError
from core.http import HtmxHttpRequest
from releases.selectors import release_get

from . import config
from .asks import slack_ask_request
from .interactions import interaction_process, interaction_store
from .signing import SignatureProblem, signature_check

log = logging.getLogger(__name__)


@require_POST
@viewer_required
def ask_view(request: HtmxHttpRequest, product: str, version: str) -> HttpResponse:
    """Ask the release's missing sign-offs in the product's Slack channel."""
    release = release_get(product, version)
    ensure_can(request.user, Capability.ASK_IN_SLACK, release.product)
    try:
        slack_ask_request(release=release, actor=request.user)
    except DomainError as error:
        return refused(request, release, error)
    return after_action(request, release, "signoffs", _("The missing sign-offs are being asked in Slack."))


def _plain(status: int, reason: str) -> HttpResponse:
    return HttpResponse(reason.encode(), status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt
@require_POST
def interactions_view(request: HttpRequest) -> HttpResponse:
    """Slack's interactivity Request URL. Verified first (401 unsigned or badly signed, 403
    stale), stored, then acted on; Slack is answered 200 with an empty body at once, and
    the person is told through the response_url after commit."""
    body = request.body
    if len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        return _plain(413, "The request body is too large.")
    try:
        signature_check(config.signing_secret(), request.headers, body)
    except SignatureProblem as problem:
        log.info("slack interaction refused: %s", problem.reason)
        return _plain(problem.status, problem.reason)
    interaction = interaction_store(body=body, timestamp=request.headers.get("X-Slack-Request-Timestamp", ""))
    if interaction is None:
        log.info("slack interaction replayed: answered, not processed again")
        return HttpResponse(b"", status=200)
    try:
        interaction_process(interaction_id=interaction.pk)
    except Exception:  # stored: an administrator can see it; Slack still gets its 200
        log.exception("slack interaction %s could not be processed", interaction.pk)
    return HttpResponse(b"", status=200)
