from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .oidc_provider import OIDCProvider


@pytest.fixture
def provider(settings: Any) -> Iterator[OIDCProvider]:
    """A local OpenID Connect provider, and the app pointed at it by discovery."""
    idp = OIDCProvider().start()
    settings.GONOGO_OIDC_ENABLED = True
    settings.GONOGO_OIDC_ISSUER = idp.issuer
    settings.GONOGO_OIDC_PROVIDER_NAME = "Local IdP"
    settings.OIDC_RP_CLIENT_ID = idp.client_id
    settings.OIDC_RP_CLIENT_SECRET = idp.client_secret
    yield idp
    idp.stop()
