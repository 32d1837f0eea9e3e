"""Password sign-in: the lockout per account and per address (django-axes), password
sign-in switched off with the superusers' break-glass, and the idle session expiry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db


def attempt(client: Client, username: str, password: str, **extra: Any) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password, "next": "/"}, **extra)


def signed_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def test_twenty_wrong_passwords_then_the_right_one_does_not_sign_in(make_user: Any) -> None:
    make_user("qa", username="quinn")
    client = Client()
    statuses = [attempt(client, "quinn", f"guess-{i}").status_code for i in range(20)]
    assert statuses[:4] == [200] * 4  # wrong password: the form again
    assert set(statuses[4:]) == {429}  # the fifth failure locks
    response = attempt(client, "quinn", "pw")
    assert response.status_code == 429
    assert not signed_in(client)
    page = response.content.decode()
    assert "Sign-in is locked." in page
    assert "There were 5 failed sign-ins in a row for this account." in page
    assert "Try again after" in page


def test_the_account_is_locked_from_another_address_and_the_address_for_another_account(
    make_user: Any,
) -> None:
    make_user("qa", username="quinn")
    make_user("pm", username="pat")
    for i in range(5):
        attempt(Client(), "quinn", f"guess-{i}", REMOTE_ADDR="10.0.0.1")
    # Another address, the same account: locked (the account is).
    elsewhere = attempt(Client(), "quinn", "pw", REMOTE_ADDR="10.0.0.2")
    assert elsewhere.status_code == 429
    assert "for this account." in elsewhere.content.decode()
    # The same address, another account: one person's typos do not lock the office out.
    colleague = Client()
    assert attempt(colleague, "pat", "pw", REMOTE_ADDR="10.0.0.1").status_code == 302
    # Guessing across many accounts from one address locks the address (at 20).
    for i in range(20):
        attempt(Client(), f"nobody-{i}", "x", REMOTE_ADDR="10.0.0.1")
    other = Client()
    response = attempt(other, "pat", "pw", REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 429 and not signed_in(other)
    assert "There were 20 failed sign-ins in a row from this address." in response.content.decode()
    # Another account from another address signs in.
    free = Client()
    assert attempt(free, "pat", "pw", REMOTE_ADDR="10.0.0.3").status_code == 302
    assert signed_in(free)


def test_the_lock_lifts_at_the_time_the_page_gave(make_user: Any, settings: Any) -> None:
    make_user("qa", username="quinn")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for i in range(5):
            attempt(Client(), "quinn", f"guess-{i}")
        page = attempt(Client(), "quinn", "pw").content.decode()
        until = timezone.localtime(start + settings.AXES_COOLOFF_TIME).strftime("%Y-%m-%d %H:%M")
        assert f"Try again after {until}" in page
    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        assert attempt(Client(), "quinn", "pw").status_code == 429  # tries while locked do not extend it
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        client = Client()
        assert attempt(client, "quinn", "pw").status_code == 302
        assert signed_in(client)


def test_the_limit_and_the_lock_time_are_settings(make_user: Any, settings: Any) -> None:
    settings.GONOGO_LOCKOUT_FAILURES = 2
    make_user("qa", username="quinn")
    attempt(Client(), "quinn", "x")
    assert attempt(Client(), "quinn", "y").status_code == 429


def test_behind_the_proxy_the_address_is_the_one_the_proxy_saw(make_user: Any, settings: Any) -> None:
    make_user("qa", username="pat")
    settings.GONOGO_BEHIND_TLS_PROXY = True
    for i in range(settings.GONOGO_LOCKOUT_ADDRESS_FAILURES):
        # A client writing its own X-Forwarded-For: the proxy appends the real address.
        attempt(Client(), f"nobody-{i}", "x", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, 203.0.113.7")
    assert attempt(Client(), "pat", "pw", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 429
    assert attempt(Client(), "pat", "pw", HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 302


def test_without_the_proxy_setting_forwarded_for_is_ignored(make_user: Any, settings: Any) -> None:
    make_user("qa", username="pat")
    settings.GONOGO_BEHIND_TLS_PROXY = False
    for i in range(settings.GONOGO_LOCKOUT_ADDRESS_FAILURES):
        attempt(Client(), f"nobody-{i}", "x", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
    assert attempt(Client(), "pat", "pw", HTTP_X_FORWARDED_FOR="198.51.100.99").status_code == 429


def test_the_lockout_page_is_in_korean(make_user: Any) -> None:
    make_user("qa", username="quinn")
    for i in range(5):
        attempt(Client(), "quinn", f"guess-{i}")
    page = attempt(Client(), "quinn", "pw", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert 'lang="ko"' in page and 'id="lockout"' in page


def test_the_admin_login_is_throttled_too(make_user: Any) -> None:
    make_user(username="root", is_staff=True, is_superuser=True)
    for i in range(5):
        Client().post("/admin/login/", {"username": "root", "password": f"guess-{i}"})
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": "pw"})
    assert response.status_code == 429 and not signed_in(client)


# Password sign-in switched off ----------------------------------------------------------


def test_password_sign_in_off_shows_only_the_provider_and_refuses_a_posted_password(
    make_user: Any, settings: Any
) -> None:
    settings.GONOGO_PASSWORD_LOGIN = False
    settings.GONOGO_OIDC_ENABLED = True
    settings.GONOGO_OIDC_PROVIDER_NAME = "Keycloak"
    make_user("qa", username="quinn")
    page = Client().get("/accounts/login/").content.decode()
    assert "Sign in with Keycloak" in page and 'id="id_password"' not in page
    client = Client()
    response = attempt(client, "quinn", "pw")
    assert response.status_code == 403 and not signed_in(client)
    assert "Sign-in with a password is switched off here." in response.content.decode()


def test_password_sign_in_off_holds_for_the_admin_login_too(make_user: Any, settings: Any) -> None:
    settings.GONOGO_PASSWORD_LOGIN = False
    make_user("qa", username="quinn", is_staff=True)
    client = Client()
    client.post("/admin/login/", {"username": "quinn", "password": "pw"})
    assert not signed_in(client)


def test_break_glass_lets_only_superusers_use_their_password(make_user: Any, settings: Any) -> None:
    settings.GONOGO_PASSWORD_LOGIN = False
    settings.GONOGO_PASSWORD_LOGIN_SUPERUSERS = True
    make_user(username="root", is_staff=True, is_superuser=True)
    make_user("qa", username="quinn", is_staff=True)
    assert 'id="id_password"' not in Client().get("/accounts/login/").content.decode()
    assert 'id="id_password"' in Client().get("/accounts/login/?break-glass=1").content.decode()
    person = Client()
    attempt(person, "quinn", "pw")
    assert not signed_in(person)
    root = Client()
    assert attempt(root, "root", "pw").status_code == 302 and signed_in(root)


# Idle expiry ----------------------------------------------------------------------------


def test_a_session_expires_after_the_idle_time(make_user: Any, settings: Any) -> None:
    assert settings.SESSION_COOKIE_AGE == 480 * 60
    user = make_user("qa")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = Client()
        client.force_login(user)
        assert client.get("/").status_code == 200
    with time_machine.travel(start + timedelta(hours=7, minutes=59), tick=False):
        assert client.get("/").status_code == 200  # a page: activity, the expiry moves on
    with time_machine.travel(start + timedelta(hours=15, minutes=50), tick=False):
        assert client.get("/").status_code == 200
    with time_machine.travel(start + timedelta(hours=23, minutes=51), tick=False):
        response = client.get("/")
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_panel_refreshes_and_live_streams_are_not_activity(make_user: Any) -> None:
    user = make_user("qa")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = Client()
        client.force_login(user)
    for minutes in range(60, 8 * 60, 60):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get("/", HTTP_HX_REQUEST="true").status_code == 200
    with time_machine.travel(start + timedelta(hours=8, minutes=1), tick=False):
        response = client.get("/", HTTP_HX_REQUEST="true")
        # Expired: the whole page goes to the login form (accounts.permissions.viewer_required).
        assert response.status_code == 204 and response["HX-Redirect"].startswith("/accounts/login/")


def test_the_session_is_written_at_most_once_a_minute(make_user: Any, django_assert_num_queries: Any) -> None:
    from django.contrib.sessions.models import Session

    user = make_user("qa")
    client = Client()
    client.force_login(user)
    client.get("/")
    key = client.session.session_key
    first = Session.objects.get(pk=key).expire_date
    client.get("/")
    assert Session.objects.get(pk=key).expire_date == first
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=False):
        client.get("/")
    assert Session.objects.get(pk=key).expire_date > first


def test_no_way_to_sign_in_says_so(settings: Any) -> None:
    settings.GONOGO_PASSWORD_LOGIN = False
    settings.GONOGO_OIDC_ENABLED = False
    assert "Sign-in is not set up here yet" in Client().get("/accounts/login/").content.decode()


def test_signing_in_to_ones_own_account_does_not_reset_the_count(make_user: Any) -> None:
    """Four guesses at someone else's password, a sign-in to one's own, four more: still
    locked at the fifth guess."""
    make_user("qa", username="victim")
    make_user("qa", username="mallory")
    client = Client()
    for i in range(4):
        attempt(client, "victim", f"guess-{i}", REMOTE_ADDR="10.9.9.9")
    own = Client()
    assert attempt(own, "mallory", "pw", REMOTE_ADDR="10.9.9.9").status_code == 302
    assert attempt(client, "victim", "guess-5", REMOTE_ADDR="10.9.9.9").status_code == 429


def test_a_request_that_never_reads_the_session_does_not_load_it(
    make_user: Any, django_assert_num_queries: Any
) -> None:
    client = Client()
    client.force_login(make_user("qa"))
    with django_assert_num_queries(0):
        assert client.get("/healthz").status_code == 200
