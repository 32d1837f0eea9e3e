"""The policy file's [sso] section: group → role rules for single sign-on, applied and
audited like the rest of the file, refused whole with the key when a role or product is
unknown."""

from __future__ import annotations

import textwrap
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import SsoGroupRole, SsoSettings
from audit.models import AuditEvent
from tests.releases.factories import ProductFactory

pytestmark = pytest.mark.django_db

SSO = textwrap.dedent(
    """
    [sso]
    groups_claim = "roles"

    [[sso.roles]]
    group = "release-pm"
    role = "pm"
    product = "ios-app"

    [[sso.roles]]
    group = "release-mobile"
    role = "mobile_lead"
    """
)


def apply(tmp_path: Path, text: str) -> str:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    out, err = StringIO(), StringIO()
    try:
        call_command("apply_policy", str(path), stdout=out, stderr=err)
    except CommandError as exc:
        raise CommandError(err.getvalue()) from exc
    return out.getvalue()


def rules() -> set[tuple[str, str, str]]:
    return {
        (r.group, r.role, r.product.slug if r.product else "*")
        for r in SsoGroupRole.objects.select_related("product")
    }


def test_sso_section_applies_once_then_changes_nothing(tmp_path: Path) -> None:
    ProductFactory(slug="ios-app")
    out = apply(tmp_path, SSO)
    assert "created sso role release-pm → pm (ios-app)" in out
    assert "updated sso (groups_claim: roles)" in out
    assert rules() == {("release-pm", "pm", "ios-app"), ("release-mobile", "mobile_lead", "*")}
    assert SsoSettings.objects.get().groups_claim == "roles"
    events = AuditEvent.objects.count()
    assert apply(tmp_path, SSO).strip().endswith("no changes")
    assert AuditEvent.objects.count() == events


def test_a_rule_left_out_of_the_file_is_removed_and_a_file_without_sso_keeps_them(tmp_path: Path) -> None:
    ProductFactory(slug="ios-app")
    apply(tmp_path, SSO)
    out = apply(tmp_path, SSO.split('[[sso.roles]]\ngroup = "release-mobile"')[0])
    assert "removed sso role release-mobile → mobile_lead (*)" in out
    assert rules() == {("release-pm", "pm", "ios-app")}
    assert AuditEvent.objects.filter(action="policy.remove", object_type="accounts.ssogrouprole").count() == 1
    apply(tmp_path, '[[products]]\nslug = "ios-app"\nname = "iOS"\nplatform = "ios"\n')
    assert rules() == {("release-pm", "pm", "ios-app")}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('role = "pm"', 'role = "boss"'), "sso.roles[0].role: unknown role “boss”"),
        (('product = "ios-app"', 'product = "web"'), "sso.roles[0].product: unknown product “web”"),
        (('group = "release-pm"\n', ""), "sso.roles[0].group: is required"),
        (('groups_claim = "roles"', 'groups_claim = "roles"\nclaim = "x"'), "sso.claim: unknown key"),
        (('groups_claim = "roles"', 'groups_claim = ""'), "sso.groups_claim: must not be empty"),
    ],
)
def test_a_wrong_key_refuses_the_whole_file(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    ProductFactory(slug="ios-app")
    with pytest.raises(CommandError) as exc:
        apply(tmp_path, SSO.replace(*change))
    assert expected in str(exc.value)
    assert not SsoGroupRole.objects.exists() and not SsoSettings.objects.exists()


def test_the_same_rule_twice_is_refused(tmp_path: Path) -> None:
    ProductFactory(slug="ios-app")
    twice = SSO + '\n[[sso.roles]]\ngroup = "release-mobile"\nrole = "mobile_lead"\n'
    with pytest.raises(CommandError) as exc:
        apply(tmp_path, twice)
    assert "sso.roles[2]: the same group, role and product appear twice" in str(exc.value)
