"""Authentication backends, in the order settings.AUTHENTICATION_BACKENDS lists them.

`ThrottleBackend` refuses a locked-out account or address before anything else runs;
`PasswordBackend` checks local passwords only while they are allowed
(GONOGO_PASSWORD_LOGIN, or the superusers' break-glass GONOGO_PASSWORD_LOGIN_SUPERUSERS).
Because the rule sits in the backend, it holds for every way in: the login page, the admin's
own login form, and anything else that calls `authenticate()`.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


class ThrottleBackend(AxesStandaloneBackend):
    """django-axes' check. Without a request (a management command, a shell) there is no
    client to throttle and nothing to lock: the other backends decide alone."""

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> Any:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


def password_login_allowed() -> bool:
    """Whether the login page offers the password form to everyone."""
    return bool(settings.GONOGO_PASSWORD_LOGIN)


class PasswordBackend(ModelBackend):
    """Django's user name and password check, refused while password sign-in is off,
    except for active superusers when the break-glass setting is on."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None or password_login_allowed():
            return user
        if settings.GONOGO_PASSWORD_LOGIN_SUPERUSERS and user.is_superuser:
            return user
        return None
