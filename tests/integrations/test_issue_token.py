"""`python manage.py issue_token` (CONTRACT §1)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command

from integrations.models import ApiToken
from integrations.tokens import token_authenticate
from releases.models import Product


def test_prints_the_token_once_and_stores_only_its_hash(db: Any, capsys: Any) -> None:
    Product.objects.create(slug="ios-app", name="iOS", platform="ios")
    call_command("issue_token", "github actions", product="ios-app", scope="results,verdict,metrics")
    raw = capsys.readouterr().out.strip()
    token = ApiToken.objects.get()
    assert raw.startswith("gng_") and len(raw) > 40
    assert raw not in {token.token_hash, token.prefix, token.name}
    assert token.scopes == ["results", "verdict", "metrics"]
    assert token_authenticate(raw) == token


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"product": "nope"}, "No product"),
        ({"product": "ios-app", "scope": "results,admin"}, "Scopes must be"),
    ],
)
def test_refusals_say_what_to_fix(db: Any, kwargs: dict[str, str], message: str) -> None:
    Product.objects.create(slug="ios-app", name="iOS", platform="ios")
    with pytest.raises(CommandError, match=message):
        call_command("issue_token", "ci", **kwargs)
    assert not ApiToken.objects.exists()
