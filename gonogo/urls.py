"""URL configuration."""

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path

from gonogo.health import healthz, readyz

admin.site.site_header = "Go/No-Go settings"
admin.site.site_title = "Go/No-Go"

handler404 = "api.problems.not_found"
handler500 = "api.problems.server_error"

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/v1/", include("api.urls")),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("", include("releases.urls")),
    path("", include("gates.urls")),
    path("accounts/", include("accounts.urls")),
    path("live/", include("live.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]


def bench_empty(request: HttpRequest) -> HttpResponse:
    """The baseline of bench/: an empty view behind the same middleware (GONOGO_BENCH=1 only)."""
    return HttpResponse(b"")


if settings.GONOGO_BENCH:
    urlpatterns.append(path("bench/empty/", bench_empty))
