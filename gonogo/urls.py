"""URL configuration."""

import hashlib
import hmac
import os

from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from core.health import healthz, readyz

# In the visitor's language, like the rest of the admin (lazy: no language at import).
admin.site.site_header = _("Go/No-Go settings")
admin.site.site_title = "Go/No-Go"

handler400 = "core.handlers.bad_request"
handler403 = "core.handlers.permission_denied"
handler404 = "core.handlers.not_found"
handler500 = "core.handlers.server_error"

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/v1/", include("api.urls")),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("", include("board.urls")),
    path("", include("checklists.urls")),
    path("", include("reviews.urls")),
    path("channels/", include("notifications.urls")),
    path("", include("slack.urls")),  # the board's Ask in Slack, Slack's interactions (docs/slack.md)
    path("accounts/", include("accounts.urls")),
    path("oidc/", include("accounts.oidc_urls")),  # single sign-on: accounts/oidc.py
    # Only POST changes the language; Django's view would answer any method with a redirect.
    path("i18n/setlang/", require_POST(set_language), name="set_language"),
    path("admin/", admin.site.urls),
]


def bench_empty(request: HttpRequest) -> HttpResponse:
    """The baseline of bench/: an empty view behind the same middleware (GONOGO_BENCH=1 only)."""
    return HttpResponse(b"")


@csrf_exempt
def bench_webhook_floor(request: HttpRequest) -> HttpResponse:
    """The floor of bench/webhooks.py (GONOGO_BENCH=1 only): the least a webhook receiver
    can do behind the same middleware: check the X-Hub-Signature-256 HMAC over the body
    with the bench integration's secret and insert one row (table `bench_floor`, created by
    the bench), then answer 202."""
    body = request.body
    secret = os.environ.get("GONOGO_BENCH_WEBHOOK_SECRET", "").encode()
    expected = b"sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest().encode()
    given = request.headers.get("X-Hub-Signature-256", "").strip().encode()
    if not secret or not hmac.compare_digest(expected, given):
        return HttpResponse(status=401)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_floor (body) VALUES (%s)", [body])
    return HttpResponse(status=202)


if settings.DEBUG:  # `make run`'s stand-in monitoring (demo/monitoring.py)
    from demo.monitoring import prometheus_query

    urlpatterns.append(path("demo/prometheus/api/v1/query", prometheus_query))
    # `make run`'s stand-in Unleash for the demo flag (demo/unleash.py, docs/flags.md).
    from demo.unleash import unleash_feature, unleash_toggle

    DEMO_UNLEASH = "demo/unleash/api/admin/projects/<str:project>/features/<str:key>"
    urlpatterns.append(path(DEMO_UNLEASH, unleash_feature))
    urlpatterns.append(path(f"{DEMO_UNLEASH}/environments/<str:env>/<str:op>", unleash_toggle))

if settings.GONOGO_BENCH:
    urlpatterns.append(path("bench/empty/", bench_empty))
    urlpatterns.append(path("bench/webhook-floor/", bench_webhook_floor))
