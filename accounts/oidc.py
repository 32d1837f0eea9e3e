"""Single sign-on with OpenID Connect, on mozilla-django-oidc.

What we add to the library:
- discovery: with GONOGO_OIDC_ISSUER set, endpoints come from the issuer's
  `/.well-known/openid-configuration` (fetched once per process, on first use); endpoints
  set explicitly win;
- the ID token's issuer, audience (our client id), expiry and issue time are checked, on
  top of the library's signature and nonce checks;
- claims are the ID token's, completed by the userinfo endpoint (whose `sub` must match);
- people are found by (issuer, subject), created on first sign-in, and their roles
  re-synced from the groups claim at every sign-in (accounts.services);
- any refusal (bad token, provider down, account clash) is a failed sign-in: it is
  logged, counted by the lockout and ends on the login page with a message.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
    OIDCLogoutView,
)

from .services import SsoRefused, sso_user_sign_in

log = logging.getLogger(__name__)

# Setting → key of the discovery document.
_DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


@functools.cache
def _discovery(issuer: str) -> dict[str, Any]:
    response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT)
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    if document.get("issuer", "").rstrip("/") != issuer:
        raise ImproperlyConfigured(
            f"the discovery document of {issuer} names another issuer: {document.get('issuer')}"
        )
    return document


def oidc_setting(attr: str, *default: Any) -> Any:
    """A mozilla-django-oidc setting; endpoints left empty come from discovery."""
    value = import_from_settings(attr, *default)
    if attr in _DISCOVERED and not value and settings.GONOGO_OIDC_ISSUER:
        value = _discovery(settings.GONOGO_OIDC_ISSUER).get(_DISCOVERED[attr], "")
    return value


def groups_claim() -> str:
    from .models import SsoSettings

    row = SsoSettings.objects.filter(pk=1).first()
    return (row.groups_claim if row else "") or settings.GONOGO_OIDC_GROUPS_CLAIM


class OIDCBackend(OIDCAuthenticationBackend):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library reads every endpoint here; Django builds a backend for each request
        # of a signed-in person, so endpoints are resolved only when signing in.
        from django.contrib.auth import get_user_model

        self.UserModel = get_user_model()

    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return oidc_setting(attr, *args)

    def _configure(self) -> None:
        self.OIDC_OP_TOKEN_ENDPOINT = self.get_settings("OIDC_OP_TOKEN_ENDPOINT")
        self.OIDC_OP_USER_ENDPOINT = self.get_settings("OIDC_OP_USER_ENDPOINT", "")
        self.OIDC_OP_JWKS_ENDPOINT = self.get_settings("OIDC_OP_JWKS_ENDPOINT", None)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> Any:
        if request is None or not settings.GONOGO_OIDC_ENABLED or "nonce" not in kwargs:
            return None
        try:
            self._configure()
            return super().authenticate(request, **kwargs)
        except (
            SuspiciousOperation,
            SsoRefused,
            ImproperlyConfigured,
            jwt.PyJWTError,
            requests.RequestException,
            ValueError,
            KeyError,
        ) as exc:
            log.warning("single sign-on refused: %s", exc)
            request.gonogo_sso_refusal = str(exc) if isinstance(exc, SsoRefused) else ""  # type: ignore[attr-defined]
            return None

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        payload: dict[str, Any] = super().verify_token(token, **kwargs)
        if kwargs.get("nonce") is None:
            return payload  # a userinfo answer signed as a JWT: no ID-token checks apply
        issuer = settings.GONOGO_OIDC_ISSUER
        # Always checked: without an issuer, a multi-tenant key set (Entra's `common`) would
        # let any tenant's users in. Google also writes its issuer without the scheme.
        if not issuer or str(payload.get("iss", "")).rstrip("/") not in (
            issuer,
            issuer.removeprefix("https://"),
        ):
            raise SuspiciousOperation(f"ID token from another issuer: {payload.get('iss')}")
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation(f"ID token for another audience: {audience}")
        if len(audiences) > 1 and payload.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("ID token with several audiences and another authorised party")
        if "exp" not in payload or "iat" not in payload or "sub" not in payload:
            raise SuspiciousOperation("ID token without exp, iat or sub")
        return payload

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT:
            info = super().get_userinfo(access_token, id_token, payload)
            if info.get("sub") != payload.get("sub"):
                raise SuspiciousOperation("userinfo is about another subject")
            claims.update(info)
        return claims

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        claims = self.get_userinfo(access_token, id_token, payload)
        issuer = settings.GONOGO_OIDC_ISSUER
        claim = groups_claim()
        groups = claims.get(claim) or []
        if isinstance(groups, str):
            groups = [groups]
        return sso_user_sign_in(issuer=issuer, claims=claims, groups=[str(g) for g in groups])


class AuthenticateView(OIDCAuthenticationRequestView):
    """Off (404) until single sign-on is set up."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return oidc_setting(attr, *args)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.GONOGO_OIDC_ENABLED:
            from django.http import Http404

            raise Http404
        try:
            self.OIDC_OP_AUTH_ENDPOINT = self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except (requests.RequestException, ImproperlyConfigured, ValueError) as exc:
            log.warning("single sign-on provider unreachable: %s", exc)
            messages.error(request, _("The sign-in provider does not answer. Try again in a minute."))
            return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))
        response: HttpResponse = super().get(request)
        return response


class CallbackView(OIDCAuthenticationCallbackView):
    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return oidc_setting(attr, *args)

    @property
    def failure_url(self) -> str:
        return resolve_url(settings.LOGIN_URL)

    def login_failure(self) -> HttpResponse:
        reason = getattr(self.request, "gonogo_sso_refusal", "")
        if reason:
            messages.error(self.request, reason)
        else:
            messages.error(
                self.request, _("Single sign-on did not complete. Try again, or ask an administrator.")
            )
        response: HttpResponse = super().login_failure()
        return response

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.GONOGO_OIDC_ENABLED:
            from django.http import Http404

            raise Http404
        try:
            response: HttpResponse = super().get(request)
        except (SuspiciousOperation, PermissionDenied) as exc:
            # An unknown or replayed state: no sign-in happened.
            log.warning("single sign-on callback refused: %s", exc)
            return self.login_failure()
        return response


class LogoutView(OIDCLogoutView):
    """Logging out is a POST (a GET could be forged by any page)."""

    http_method_names = ["post"]
