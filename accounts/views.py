"""The login page: password form (while allowed), "Sign in with <provider>" (when single
sign-on is set up), and the lockout notice (accounts.throttle)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from .backends import password_login_allowed

BREAK_GLASS_PARAM = "break-glass"


def _password_form_shown(request: HttpRequest) -> bool:
    if password_login_allowed():
        return True
    return bool(settings.GONOGO_PASSWORD_LOGIN_SUPERUSERS) and BREAK_GLASS_PARAM in request.GET


def _safe_next(request: HttpRequest) -> str:
    value = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return value if ok else ""


def login_context(request: HttpRequest) -> dict[str, Any]:
    return {
        "password_login": _password_form_shown(request),
        "oidc_enabled": settings.GONOGO_OIDC_ENABLED,
        "oidc_provider": settings.GONOGO_OIDC_PROVIDER_NAME,
        "break_glass": not password_login_allowed() and BREAK_GLASS_PARAM in request.GET,
        "lockout_minutes": settings.AXES_COOLOFF_TIME.total_seconds() / 60
        if settings.AXES_COOLOFF_TIME
        else None,
    }


def login_page(
    request: HttpRequest, *, lockout: dict[str, Any] | None = None, refused: bool = False, status: int = 200
) -> HttpResponse:
    """The login page outside the form flow: the lockout notice, or password sign-in refused."""
    username = request.POST.get("username", "") if request.method == "POST" else ""
    context = {
        **login_context(request),
        "form": AuthenticationForm(request, initial={"username": username}),
        "next": _safe_next(request),
        "lockout": lockout,
        "password_refused": refused,
    }
    return render(request, "accounts/login.html", context, status=status)


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    # Not Django's default, which also takes PUT (as a POST: a sign-in) and OPTIONS.
    http_method_names = ["get", "head", "post"]
    redirect_authenticated_user = True

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Another method is refused before a signed-in person is sent on to the dashboard.
        if request.method is None or request.method.lower() not in self.http_method_names:
            return self.http_method_not_allowed(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), **login_context(self.request)}

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not password_login_allowed() and not settings.GONOGO_PASSWORD_LOGIN_SUPERUSERS:
            return login_page(request, refused=True, status=403)
        return super().post(request, *args, **kwargs)


login = LoginView.as_view()
