"""A stand-in Unleash for `make run` (DEBUG only): the demo's feature flag `search-v2` of
ios-app points at it, so the board's flags panel can be tried end to end without an
Unleash server. It answers the two admin API calls Go/No-Go makes, in Unleash's shapes
(docs/flags.md): `POST …/features/{key}/environments/{env}/on|off` and
`GET …/features/{key}`, with the demo token as the `Authorization` header. A flag is on
until killed (its state is a file in VAR_DIR, shared by `make run`'s processes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

DEMO_TOKEN_ENV = "GONOGO_DEMO_UNLEASH_TOKEN"
FEATURES = {"search-v2": ("development", "production")}


def _off_file(key: str, env: str) -> Path:
    # A file, not a cache: `make run`'s processes (web, worker, beat) share only VAR_DIR.
    safe = "".join(c for c in f"{key}-{env}" if c.isalnum() or c in ".-_")[:100]
    return Path(settings.VAR_DIR) / f"demo-unleash-off-{safe}"


def flag_set(key: str, env: str, on: bool) -> None:
    path = _off_file(key, env)
    if on:
        path.unlink(missing_ok=True)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()


def _error(status: int, name: str, message: str) -> JsonResponse:
    return JsonResponse({"id": "demo", "name": name, "message": message}, status=status)


def _feature(project: str, key: str) -> dict[str, Any]:
    return {
        "name": key,
        "type": "kill-switch",
        "project": project,
        "stale": False,
        "archived": False,
        "environments": [
            {"name": env, "featureName": key, "environment": env, "enabled": not _off_file(key, env).exists()}
            for env in FEATURES[key]
        ],
    }


def _refused(request: HttpRequest, project: str, key: str) -> JsonResponse | None:
    token = getattr(settings, "GONOGO_SECRET_DEFAULTS", {}).get(DEMO_TOKEN_ENV, "")
    if not token or request.headers.get("Authorization") != token:
        return _error(401, "AuthenticationRequired", "You must log in to use Unleash.")
    if project != "default" or key not in FEATURES:
        return _error(404, "NotFoundError", f"Could not find feature flag with name {key}")
    return None


@require_http_methods(["GET"])
def unleash_feature(request: HttpRequest, project: str, key: str) -> JsonResponse:
    return _refused(request, project, key) or JsonResponse(_feature(project, key))


@csrf_exempt
@require_http_methods(["POST"])
def unleash_toggle(request: HttpRequest, project: str, key: str, env: str, op: str) -> JsonResponse:
    refused = _refused(request, project, key)
    if refused is not None:
        return refused
    if env not in FEATURES[key] or op not in ("on", "off"):
        return _error(404, "NotFoundError", f"Could not find environment {env}")
    flag_set(key, env, op == "on")
    return JsonResponse(_feature(project, key))
