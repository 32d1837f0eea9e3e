"""Single sign-on URLs, under /oidc/ (the names are mozilla-django-oidc's)."""

from django.urls import path

from . import oidc

urlpatterns = [
    path("authenticate/", oidc.AuthenticateView.as_view(), name="oidc_authentication_init"),
    path("callback/", oidc.CallbackView.as_view(), name="oidc_authentication_callback"),
    path("logout/", oidc.LogoutView.as_view(), name="oidc_logout"),
]
