"""`GET /api/v1/releases/<product>/<version>` lists the product's flags: key, state as
last read back, when, and whether this release ships it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from flags.models import Flag, FlagShip
from integrations.tokens import token_issue

from ..releases.builders import build_world

pytestmark = pytest.mark.django_db


def test_the_release_lists_its_product_flags(client: Client, make_user: Any) -> None:
    w = build_world(make_user, ready=False)
    token = token_issue(name="ci", product=w.product, scopes=["verdict"])[1]
    url = f"/api/v1/releases/{w.product.slug}/1.0.0"
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get(url, **headers).json()["flags"] == []

    read = timezone.now()
    shipped = Flag.objects.create(
        product=w.product,
        key="search-v2",
        provider="unleash",
        url="https://u.example",
        token_env="GONOGO_T",
        state="off",
        state_read_at=read,
    )
    Flag.objects.create(
        product=w.product, key="dark-mode", provider="webhook", url="https://h.example", secret_env="GONOGO_S"
    )
    FlagShip.objects.create(flag=shipped, release=w.release, ships=True, at=read)

    flags = client.get(url, **headers).json()["flags"]
    assert flags == [
        {"key": "dark-mode", "state": "unknown", "read_at": None, "ships": False},
        {
            "key": "search-v2",
            "state": "off",
            "read_at": read.isoformat().replace("+00:00", "Z"),
            "ships": True,
        },
    ]
