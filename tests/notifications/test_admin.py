"""The admin shows the delivery log read only, each delivery with its attempts."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from notifications.models import Delivery, DeliveryAttempt

from .conftest import slack_channel

pytestmark = pytest.mark.django_db


def test_deliveries_are_read_only_with_their_attempts(make_user: Any, client: Client) -> None:
    delivery = Delivery.objects.create(
        channel=slack_channel(), event="rollout.halted", message_id="msg_admin", status="failed", attempts=1
    )
    DeliveryAttempt.objects.create(
        delivery=delivery, number=1, ok=False, status_code=500, error="rollup_error"
    )
    client.force_login(make_user(is_staff=True, is_superuser=True))
    listing = client.get("/admin/notifications/delivery/")
    assert listing.status_code == 200 and "rollout.halted" in listing.content.decode()
    page = client.get(f"/admin/notifications/delivery/{delivery.pk}/change/").content.decode()
    assert "rollup_error" in page and "msg_admin" in page
    assert 'name="_save"' not in page  # nothing to change
    assert client.get("/admin/notifications/delivery/add/").status_code == 403
    assert (
        client.post(f"/admin/notifications/delivery/{delivery.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert Delivery.objects.filter(pk=delivery.pk).exists()
