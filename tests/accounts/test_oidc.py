"""Single sign-on against a local OpenID Connect provider (tests/accounts/oidc_provider.py):
people created on first sign-in with the roles their groups map to; every broken token
refused; roles re-synced at each sign-in, by-hand memberships kept."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.contrib.auth import SESSION_KEY, get_user_model
from django.test import Client

from accounts.models import MembershipSource, Role, RoleMembership, SsoGroupRole, SsoIdentity
from audit.models import AuditEvent
from tests.releases.factories import ProductFactory

from .oidc_provider import OIDCProvider, new_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def mapping(db: Any) -> Any:
    ios = ProductFactory(slug="ios-app")
    SsoGroupRole.objects.create(group="release-mobile", role=Role.MOBILE_LEAD)
    SsoGroupRole.objects.create(group="release-pm", role=Role.PM, product=ios)
    return ios


def start(client: Client, next_url: str = "/") -> str:
    """Our /oidc/authenticate/ → the provider's /authorize → our callback URL with code and state."""
    response = client.get("/oidc/authenticate/", {"next": next_url})
    assert response.status_code == 302, response
    authorize = response["Location"]
    assert authorize.startswith(client.provider.issuer + "/authorize?")  # type: ignore[attr-defined]
    back = requests.get(authorize, allow_redirects=False, timeout=5)
    assert back.status_code == 302
    return back.headers["Location"]


def finish(client: Client, callback: str) -> Any:
    url = urlparse(callback)
    return client.get(url.path, parse_qs(url.query))


def sign_in(client: Client, provider: OIDCProvider, next_url: str = "/") -> Any:
    client.provider = provider  # type: ignore[attr-defined]
    return finish(client, start(client, next_url))


def signed_in_user(client: Client) -> Any:
    pk = client.session.get(SESSION_KEY)
    return get_user_model().objects.get(pk=pk) if pk else None


def roles(user: Any) -> set[tuple[str, str]]:
    return {
        (m.role, m.product.slug if m.product else "*")
        for m in RoleMembership.objects.filter(user=user).select_related("product")
    }


def test_first_sign_in_creates_the_person_with_the_mapped_roles(provider: OIDCProvider, mapping: Any) -> None:
    provider.person.groups = ["release-mobile", "release-pm", "unrelated"]
    client = Client()
    response = sign_in(client, provider, next_url="/releases/ios-app/")
    assert response.status_code == 302 and response["Location"] == "/releases/ios-app/"
    user = signed_in_user(client)
    assert user is not None and user.username == "mina"
    assert (user.email, user.first_name, user.last_name) == ("mina@example.com", "Mina", "Park")
    assert not user.has_usable_password()
    assert roles(user) == {("mobile_lead", "*"), ("pm", "ios-app")}
    assert set(RoleMembership.objects.filter(user=user).values_list("source", flat=True)) == {"sso"}
    assert SsoIdentity.objects.filter(user=user, issuer=provider.issuer, subject="kc-0001").exists()
    actions = list(AuditEvent.objects.filter(action__startswith="role.sso").values_list("action", flat=True))
    assert sorted(actions) == ["role.sso_grant", "role.sso_grant"]
    assert AuditEvent.objects.filter(action="user.sso_create").count() == 1
    # PKCE was used, and the secret went to the token endpoint.
    assert provider.token_requests[-1]["code_verifier"]
    assert client.get("/").status_code == 200


def test_a_removed_group_removes_its_role_and_keeps_the_ones_given_by_hand(
    provider: OIDCProvider, mapping: Any
) -> None:
    provider.person.groups = ["release-mobile", "release-pm"]
    sign_in(Client(), provider)
    user = get_user_model().objects.get(username="mina")
    RoleMembership.objects.create(user=user, role=Role.QA, source=MembershipSource.MANUAL)

    provider.person.groups = ["release-pm"]
    client = Client()
    sign_in(client, provider)
    assert signed_in_user(client) == user  # the same person, found by issuer and subject
    assert roles(user) == {("pm", "ios-app"), ("qa", "*")}
    revoked = AuditEvent.objects.get(action="role.sso_revoke")
    assert revoked.before["role"] == "mobile_lead" and revoked.before["user"] == "mina"

    # A group given back grants the role again; nothing changes on an unchanged sign-in.
    provider.person.groups = ["release-pm", "release-mobile"]
    sign_in(Client(), provider)
    sign_in(Client(), provider)
    assert roles(user) == {("pm", "ios-app"), ("qa", "*"), ("mobile_lead", "*")}
    assert AuditEvent.objects.filter(action="role.sso_grant").count() == 3


def test_a_role_held_by_hand_is_not_granted_twice_nor_removed(provider: OIDCProvider, mapping: Any) -> None:
    provider.person.groups = []
    sign_in(Client(), provider)
    user = get_user_model().objects.get(username="mina")
    RoleMembership.objects.create(user=user, role=Role.MOBILE_LEAD)
    provider.person.groups = ["release-mobile"]
    sign_in(Client(), provider)
    assert list(RoleMembership.objects.filter(user=user).values_list("role", "source")) == [
        ("mobile_lead", "manual")
    ]
    provider.person.groups = []
    sign_in(Client(), provider)
    assert list(RoleMembership.objects.filter(user=user).values_list("role", "source")) == [
        ("mobile_lead", "manual")
    ]


def test_the_groups_claim_name_comes_from_the_policy(provider: OIDCProvider, mapping: Any) -> None:
    from accounts.models import SsoSettings

    provider.groups_claim = "roles"
    provider.person.groups = ["release-mobile"]
    sign_in(Client(), provider)
    user = get_user_model().objects.get(username="mina")
    assert roles(user) == set()  # looked for "groups", found none
    SsoSettings.objects.create(pk=1, groups_claim="roles")
    sign_in(Client(), provider)
    assert roles(user) == {("mobile_lead", "*")}


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "someone-else"},
        {"iss": "http://127.0.0.1:1/evil"},
        {"exp": 1_000_000_000},  # 2001
        {"nonce": "not-the-one-we-sent"},
        {"exp": None},
    ],
    ids=["wrong-audience", "wrong-issuer", "expired", "wrong-nonce", "no-expiry"],
)
def test_a_broken_id_token_is_refused(provider: OIDCProvider, mapping: Any, changes: dict[str, Any]) -> None:
    provider.id_token_changes = changes
    client = Client()
    response = sign_in(client, provider)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert signed_in_user(client) is None
    assert not get_user_model().objects.filter(username="mina").exists()
    page = client.get("/accounts/login/")
    assert "Single sign-on did not complete" in page.content.decode()


def test_a_token_signed_with_another_key_is_refused(provider: OIDCProvider, mapping: Any) -> None:
    provider.sign_with = new_key()
    client = Client()
    sign_in(client, provider)
    assert signed_in_user(client) is None
    assert not get_user_model().objects.filter(username="mina").exists()


def test_a_wrong_or_replayed_state_is_refused(provider: OIDCProvider, mapping: Any) -> None:
    client = Client()
    client.provider = provider  # type: ignore[attr-defined]
    provider.state_override = "forged-state"
    response = finish(client, start(client))
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert signed_in_user(client) is None

    provider.state_override = None
    callback = start(client)
    assert finish(client, callback).status_code == 302
    assert signed_in_user(client) is not None
    other = Client()
    other.provider = provider  # type: ignore[attr-defined]
    start(other)  # a session with states of its own
    assert finish(other, callback)["Location"] == "/accounts/login/"  # another session's state: refused
    assert signed_in_user(other) is None


def test_a_wrong_client_secret_is_refused(provider: OIDCProvider, mapping: Any, settings: Any) -> None:
    settings.OIDC_RP_CLIENT_SECRET = "guess"
    client = Client()
    sign_in(client, provider)
    assert signed_in_user(client) is None


def test_a_local_account_with_the_same_name_is_not_taken_over(provider: OIDCProvider, mapping: Any) -> None:
    get_user_model().objects.create_superuser("mina", password="pw")
    client = Client()
    sign_in(client, provider)
    assert signed_in_user(client) is None
    assert not SsoIdentity.objects.exists()
    assert "An account named mina already exists here" in client.get("/accounts/login/").content.decode()


def test_the_login_page_offers_the_provider_and_sso_urls_404_when_off(
    provider: OIDCProvider, settings: Any
) -> None:
    page = Client().get("/accounts/login/").content.decode()
    assert "Sign in with Local IdP" in page and 'id="id_password"' in page
    settings.GONOGO_OIDC_ENABLED = False
    assert Client().get("/oidc/authenticate/").status_code == 404
    assert "Sign in with" not in Client().get("/accounts/login/").content.decode()


def test_failed_sso_callbacks_count_towards_the_address_lockout(
    provider: OIDCProvider, mapping: Any, settings: Any
) -> None:
    provider.id_token_changes = {"aud": "someone-else"}
    client = Client()
    for _ in range(settings.GONOGO_LOCKOUT_ADDRESS_FAILURES):
        sign_in(client, provider)
    provider.id_token_changes = {}
    response = sign_in(client, provider)
    assert response.status_code == 429
    assert "Sign-in is locked" in response.content.decode()
    assert signed_in_user(client) is None


def test_a_provider_that_does_not_answer_sends_back_to_the_login_page(settings: Any) -> None:
    settings.GONOGO_OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = "gonogo"
    settings.GONOGO_OIDC_ISSUER = "http://127.0.0.1:9"  # nothing listens there
    client = Client()
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert "The sign-in provider does not answer" in client.get("/accounts/login/").content.decode()


def test_a_discovery_document_naming_another_issuer_is_refused(provider: OIDCProvider, mapping: Any) -> None:
    from accounts.oidc import _discovery

    real = provider.discovery
    provider.discovery = lambda: {**real(), "issuer": "https://elsewhere.example"}  # type: ignore[method-assign]
    _discovery.cache_clear()
    response = Client().get("/oidc/authenticate/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    _discovery.cache_clear()
