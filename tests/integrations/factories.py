"""CI integrations, and API tokens issued the real way."""

from __future__ import annotations

from typing import Any

import factory

from integrations.models import ApiToken, Integration, Provider
from integrations.tokens import token_issue

from ..releases.factories import ProductFactory


class IntegrationFactory(factory.django.DjangoModelFactory):
    """A GitHub integration with no secret and no gate patterns unless given."""

    class Meta:
        model = Integration
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"ci-{n}")
    provider = Provider.GITHUB
    product = factory.SubFactory(ProductFactory)
    secret_env = ""
    gate_patterns = factory.LazyFunction(dict)


class ApiTokenFactory(factory.django.DjangoModelFactory):
    """A token issued through `token_issue` (hashed, audited); the raw token, shown only
    once, is on `.raw`."""

    class Meta:
        model = ApiToken

    name = "ci"
    product = factory.SubFactory(ProductFactory)
    scopes = ("results", "verdict")

    @classmethod
    def _create(cls, model_class: Any, *args: Any, actor: Any = None, **kwargs: Any) -> ApiToken:
        token, raw = token_issue(
            name=kwargs["name"], product=kwargs["product"], scopes=kwargs["scopes"], actor=actor
        )
        token.raw = raw  # type: ignore[attr-defined]
        return token
