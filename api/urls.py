"""/api/v1/ (CONTRACT §3). Paths carry no trailing slash, as the contract writes them."""

from django.urls import path

from . import views
from .github_app import github_app_webhook
from .webhooks import webhook_receive

app_name = "api"

urlpatterns = [
    path("results", views.results_create, name="results_create"),
    path("releases", views.releases_create, name="releases_create"),
    path("releases/<slug:product>/<str:version>/verdict", views.release_verdict, name="release_verdict"),
    path("releases/<slug:product>/<str:version>/health", views.release_health, name="release_health"),
    path("releases/<slug:product>/<str:version>/defects", views.release_defects, name="release_defects"),
    path("releases/<slug:product>/<str:version>/promote", views.release_promote_view, name="release_promote"),
    path("releases/<slug:product>/<str:version>", views.release_detail, name="release_detail"),
    path("webhooks/github-app", github_app_webhook, name="webhook_github_app"),
    path("webhooks/github/<slug:slug>", webhook_receive, {"provider": "github"}, name="webhook_github"),
    path("webhooks/gitlab/<slug:slug>", webhook_receive, {"provider": "gitlab"}, name="webhook_gitlab"),
    path("openapi.json", views.openapi_json, name="openapi"),
]
