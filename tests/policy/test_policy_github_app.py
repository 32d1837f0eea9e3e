"""`deploy_environments` in `[[integrations]]` (the GitHub App, docs/github-app.md):
parsed, applied, refused when it is not a list of names."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations.models import Integration
from policy.parse.checker import Checker, Known
from policy.parse.integrations import integrations_parse

KNOWN = Known(products={"ios-app"}, gates=set())
ENTRY = {"slug": "gh-ios", "provider": "github", "product": "ios-app", "repository": "acme/ios-app"}

FILE = """
[[products]]
slug = "ios-app"
name = "iOS app"
platform = "ios"
signoff_roles = ["qa"]

[[integrations]]
slug = "gh-ios"
provider = "github"
product = "ios-app"
repository = "acme/ios-app"
deploy_environments = ENVS
"""


def test_the_environments_are_parsed_and_default_to_none() -> None:
    (plain,) = integrations_parse(Checker(), [ENTRY], KNOWN)
    assert plain.deploy_environments == ()
    (gated,) = integrations_parse(
        Checker(), [{**ENTRY, "deploy_environments": ["production", "app-store"]}], KNOWN
    )
    assert gated.deploy_environments == ("production", "app-store")


@pytest.mark.parametrize("value", [["production", 3], [""], ["  "]])
def test_anything_but_names_is_refused(value: list[object]) -> None:
    c = Checker()
    integrations_parse(c, [{**ENTRY, "deploy_environments": value}], KNOWN)
    assert any("deploy_environments" in str(p) for p in c.problems)


@pytest.mark.django_db
def test_applied_to_the_integration_with_production_as_the_default(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(FILE.replace("ENVS", '["production", "app-store"]'), encoding="utf-8")
    call_command("apply_policy", str(path), stdout=StringIO(), stderr=StringIO())
    integration = Integration.objects.get(slug="gh-ios")
    assert integration.gated_environments() == ["production", "app-store"]
    path.write_text(FILE.replace("deploy_environments = ENVS", ""), encoding="utf-8")
    call_command("apply_policy", str(path), stdout=StringIO(), stderr=StringIO())
    integration.refresh_from_db()
    assert integration.gated_environments() == ["production"]


@pytest.mark.django_db
def test_a_string_instead_of_a_list_refuses_the_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(FILE.replace("ENVS", '"production"'), encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("apply_policy", str(path), stdout=StringIO(), stderr=err)
    assert "integrations[0].deploy_environments" in err.getvalue()
