"""URL configuration."""

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Go/No-Go settings"
admin.site.site_title = "Go/No-Go"

urlpatterns = [
    path("", include("releases.urls")),
    path("", include("gates.urls")),
    path("accounts/", include("accounts.urls")),
    path("live/", include("live.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
