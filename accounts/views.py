"""The login page: password form (while allowed), "Sign in with <provider>" (when single
sign-on is set up), and the lockout notice (accounts.throttle); a person's preferences
(their time zone)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.errors import RuleViolation
from core.http import HtmxHttpRequest
from core.when import active_zone_label

from .backends import password_login_allowed
from .permissions import viewer_required
from .preferences import time_zone_names, time_zone_save

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


def _preferences_page(request: HtmxHttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    saved = getattr(request, "time_zone_saved", "")
    context = {
        "zones": time_zone_names(),
        "saved_zone": saved,
        "shown_zone": saved or settings.TIME_ZONE,
        "shown_label": active_zone_label(),
        "server_zone": settings.TIME_ZONE,
        "error": error,
        "next": _safe_next(request),
    }
    return render(request, "accounts/preferences.html", context, status=status)


@require_GET
@viewer_required
def preferences(request: HtmxHttpRequest) -> HttpResponse:
    """The signed-in person's own settings: the time zone times are shown in."""
    return _preferences_page(request)


@require_POST
@viewer_required
def time_zone_update(request: HtmxHttpRequest) -> HttpResponse:
    """Save the person's time zone (from the preferences page or the browser's offer), then
    back to the page they were on, now in that zone."""
    zone = request.POST.get("time_zone", "")
    try:
        time_zone_save(user=request.user, zone=zone, actor=request.user)
    except RuleViolation as refusal:
        return _preferences_page(request, error=refusal.message, status=400)
    messages.success(request, _("Times are now shown in %(zone)s.") % {"zone": zone.strip()})
    back = _safe_next(request)
    if back.startswith("/") and not back.startswith("//"):  # a path of this site, never a URL name
        return HttpResponseRedirect(back)
    return redirect("accounts:preferences")
