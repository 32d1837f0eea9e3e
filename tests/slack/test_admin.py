"""The admin links people to Slack users and sets each product's channel, audited; the
asks and interactions are read only, and an interaction's body (it holds the
response_url) is not shown."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from slack.models import SlackChannel, SlackInteraction, SlackLink
from tests.releases.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_links_and_channels_are_made_in_the_admin_and_audited(make_user: Any, client: Client) -> None:
    admin = make_user(is_staff=True, is_superuser=True)
    person = make_user("qa")
    product = ProductFactory(slug="ios-app")
    client.force_login(admin)
    response = client.post(
        "/admin/slack/slacklink/add/",
        {"user": person.pk, "slack_user_id": "U0123456789", "team_id": "T0123456789"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    link = SlackLink.objects.get()
    event = AuditEvent.objects.get(
        action="admin.create", object_id=str(link.pk), object_type__icontains="slack"
    )
    assert event.actor == admin and event.after["slack_user_id"] == "U0123456789"

    refused = client.post("/admin/slack/slacklink/add/", {"user": admin.pk, "slack_user_id": "@someone"})
    assert refused.status_code == 200 and "A Slack user id" in refused.content.decode()

    response = client.post(
        "/admin/slack/slackchannel/add/", {"product": product.pk, "channel_id": "#releases"}
    )
    assert response.status_code == 200 and "A Slack channel id" in response.content.decode()
    response = client.post(
        "/admin/slack/slackchannel/add/", {"product": product.pk, "channel_id": "C0123456789", "active": "on"}
    )
    assert response.status_code == 302 and SlackChannel.objects.get().channel_id == "C0123456789"


def test_interactions_are_read_only_without_their_body(make_user: Any, client: Client) -> None:
    from django.utils import timezone

    interaction = SlackInteraction.objects.create(
        received_at=timezone.now(),
        body="payload=%7B%22response_url%22%3A%22https%3A%2F%2Fhooks.slack.com%2Factions%2FT1%2F2%2Fsecret%22%7D",
        slack_user_id="U0STRANGER",
        status="refused",
        outcome="You are not linked",
    )
    client.force_login(make_user(is_staff=True, is_superuser=True))
    page = client.get(f"/admin/slack/slackinteraction/{interaction.pk}/change/").content.decode()
    assert "U0STRANGER" in page and "hooks.slack.com" not in page and "secret" not in page
    assert client.get("/admin/slack/slackinteraction/add/").status_code == 403
