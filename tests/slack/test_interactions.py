"""Button presses from Slack: verified before anything (bad signature, stale, missing
headers → refused, nothing stored or recorded), stored, then the vote recorded as the
linked person by the board's own service, or refused with words sent to that person
alone through the response_url; on success the original message is updated."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from audit.models import AuditEvent
from board.selectors import release_board
from releases.models import Release, SignOff
from slack.blocks import ask_message
from slack.interactions import interaction_process
from slack.models import InteractionStatus, SendStatus, SlackInteraction, SlackReply

from .conftest import (
    LEAD_SLACK,
    QA_SLACK,
    TEAM,
    Queued,
    block_actions,
    buttons_of,
    form_body,
    post_interaction,
    sign,
)
from .slack_servers import Answer, FakeResponseUrl

pytestmark = pytest.mark.django_db


def press(
    client: Client,
    w: Any,
    response_url: FakeResponseUrl,
    *,
    role: str,
    vote: str,
    user: str,
    comment: str | None = None,
    team: str = TEAM,
    capture: Any = None,
) -> Any:
    button = buttons_of(ask_message(w.release))[(role, vote)]
    body = form_body(
        block_actions(button=button, user=user, team=team, comment=comment, response_url=response_url.url)
    )
    if capture is None:
        return post_interaction(client, body)
    with capture(execute=True):
        return post_interaction(client, body)


def sent_replies(queued: Queued, run: Any) -> None:
    for pk, _countdown in list(queued.replies):
        run.reply(SlackReply.objects.get(pk=pk))


def nothing_recorded() -> None:
    assert not SlackInteraction.objects.exists()
    assert not SignOff.objects.exists()


@pytest.mark.parametrize(
    ("headers", "status", "words"),
    [
        (lambda body: sign(body, secret="not-the-secret"), 401, "does not match"),
        (lambda body: sign(body, timestamp=int(__import__("time").time()) - 301), 403, "five minutes"),
        (lambda body: {}, 401, "Missing"),
        (lambda body: {"X-Slack-Signature": sign(body)["X-Slack-Signature"]}, 401, "Missing"),
        (lambda body: sign(body + b"x"), 401, "does not match"),
    ],
)
def test_unverified_requests_are_refused_and_nothing_is_recorded(
    world: Any, response_url: FakeResponseUrl, client: Client, headers: Any, status: int, words: str
) -> None:
    button = buttons_of(ask_message(world.release))[(Role.QA, "go")]
    body = form_body(block_actions(button=button, user=QA_SLACK, response_url=response_url.url))
    response = post_interaction(client, body, headers(body))
    assert response.status_code == status and words in response.content.decode()
    assert response["Content-Type"].startswith("text/plain")
    nothing_recorded()


def test_without_a_signing_secret_nothing_is_accepted(
    world: Any, response_url: FakeResponseUrl, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GONOGO_SLACK_SIGNING_SECRET")
    response = press(client, world, response_url, role=Role.QA, vote="go", user=QA_SLACK)
    assert response.status_code == 401
    nothing_recorded()


def test_a_linked_qa_signs_go_from_slack(
    world: Any,
    response_url: FakeResponseUrl,
    client: Client,
    queued: Queued,
    run: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    fingerprint = release_board(world.release).fingerprint
    response = press(
        client,
        world,
        response_url,
        role=Role.QA,
        vote="go",
        user=QA_SLACK,
        capture=django_capture_on_commit_callbacks,
    )
    assert response.status_code == 200 and response.content == b""
    signoff = SignOff.objects.get()
    assert (signoff.role, signoff.vote, signoff.signed_by, signoff.comment) == (Role.QA, "go", world.qa, "")
    assert signoff.evidence_fingerprint == fingerprint  # what the board would have stored
    record = AuditEvent.objects.get(action="signoff.record")
    assert (
        record.actor == world.qa
        and record.release_id == world.release.pk
        and record.object_id == str(signoff.pk)
    )
    via = AuditEvent.objects.get(action="signoff.via_slack")
    assert via.actor == world.qa and via.after["slack_user"] == QA_SLACK and via.after["team"] == TEAM
    interaction = SlackInteraction.objects.get()
    assert interaction.status == InteractionStatus.RECORDED and interaction.signoff == signoff
    assert interaction.user == world.qa

    assert len(queued.replies) == 1  # queued after commit
    sent_replies(queued, run)
    (update,) = response_url.bodies()
    assert update["replace_original"] is True
    text = json.dumps(update["blocks"])
    assert f"QA: Go by {world.qa.get_username()} (via Slack)" in text
    assert "Missing sign-offs:* Backend Lead" in text
    buttons = buttons_of(update)
    assert set(buttons) == {(Role.BACKEND_LEAD, "go"), (Role.BACKEND_LEAD, "no_go")}  # QA's are gone

    client.force_login(world.pm)
    html = client.get(
        reverse(
            "board:release_board", kwargs={"product": world.product.slug, "version": world.release.version}
        )
    ).content.decode()
    assert "via Slack" in html


def test_no_go_with_a_comment(
    world: Any,
    response_url: FakeResponseUrl,
    client: Client,
    queued: Queued,
    run: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    press(
        client,
        world,
        response_url,
        role=Role.QA,
        vote="no_go",
        user=QA_SLACK,
        comment="  Login crashes on Android 14  ",
        capture=django_capture_on_commit_callbacks,
    )
    signoff = SignOff.objects.get()
    assert signoff.vote == "no_go" and signoff.comment == "Login crashes on Android 14"
    sent_replies(queued, run)
    assert "Login crashes on Android 14" in json.dumps(response_url.bodies()[0]["blocks"])


def refusal(
    client: Client,
    w: Any,
    response_url: FakeResponseUrl,
    queued: Queued,
    run: Any,
    capture: Any,
    **kw: Any,
) -> str:
    response = press(client, w, response_url, capture=capture, **kw)
    assert response.status_code == 200
    assert not SignOff.objects.exists()
    assert SlackInteraction.objects.get().status == InteractionStatus.REFUSED
    sent_replies(queued, run)
    (reply,) = response_url.bodies()
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    return str(reply["text"])


@pytest.fixture
def refused(
    world: Any,
    response_url: FakeResponseUrl,
    client: Client,
    queued: Queued,
    run: Any,
    django_capture_on_commit_callbacks: Any,
) -> Any:
    """`refusal` with this test's world, client and fakes: `refused(role=…, vote=…, user=…)`."""

    def call(**kw: Any) -> str:
        return refusal(client, world, response_url, queued, run, django_capture_on_commit_callbacks, **kw)

    return call


def test_an_unlinked_slack_user_is_told_to_ask_an_admin(refused: Any) -> None:
    text = refused(role=Role.QA, vote="go", user="U0STRANGER")
    assert text == "You are not linked to a Go/No-Go person: ask an admin to link U0STRANGER."


def test_a_link_in_another_workspace_does_not_count(refused: Any) -> None:
    text = refused(role=Role.QA, vote="go", user=QA_SLACK, team="T0OTHERWS1")
    assert "not linked" in text


def test_a_role_not_held_is_refused_with_words(world: Any, refused: Any) -> None:
    # The Backend Lead presses QA's Go.
    text = refused(role=Role.QA, vote="go", user=LEAD_SLACK)
    assert text == f"You do not hold QA for {world.product.name}."
    assert not AuditEvent.objects.filter(action__startswith="signoff").exists()


def test_no_go_without_a_comment_gets_the_boards_words(refused: Any) -> None:
    text = refused(role=Role.QA, vote="no_go", user=QA_SLACK)
    assert text == "Say why you vote No-Go."


def test_a_release_not_taking_signoffs_refuses(
    world: Any,
    response_url: FakeResponseUrl,
    client: Client,
    queued: Queued,
    run: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    button = buttons_of(ask_message(world.release))[(Role.QA, "go")]
    Release.objects.filter(pk=world.release.pk).update(state="cancelled")
    body = form_body(block_actions(button=button, user=QA_SLACK, response_url=response_url.url))
    with django_capture_on_commit_callbacks(execute=True):
        assert post_interaction(client, body).status_code == 200
    sent_replies(queued, run)
    (reply,) = response_url.bodies()
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith("Sign-offs are taken while the release is a candidate")
    assert not SignOff.objects.exists()


def test_a_role_the_product_does_not_ask_for_is_refused(
    world: Any,
    response_url: FakeResponseUrl,
    client: Client,
    queued: Queued,
    run: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    button = buttons_of(ask_message(world.release))[(Role.QA, "go")]
    world.product.signoff_roles = [Role.BACKEND_LEAD]
    world.product.save(update_fields=["signoff_roles"])
    body = form_body(block_actions(button=button, user=QA_SLACK, response_url=response_url.url))
    with django_capture_on_commit_callbacks(execute=True):
        post_interaction(client, body)
    sent_replies(queued, run)
    assert "does not ask for a sign-off from this role" in response_url.bodies()[0]["text"]
    assert not SignOff.objects.exists()


def test_processed_once_and_other_payloads_ignored(
    world: Any,
    response_url: FakeResponseUrl,
    client: Client,
    queued: Queued,
    django_capture_on_commit_callbacks: Any,
) -> None:
    press(
        client,
        world,
        response_url,
        role=Role.QA,
        vote="go",
        user=QA_SLACK,
        capture=django_capture_on_commit_callbacks,
    )
    interaction = SlackInteraction.objects.get()
    assert interaction_process(interaction_id=interaction.pk) == InteractionStatus.RECORDED
    assert SignOff.objects.count() == 1 and SlackReply.objects.count() == 1
    body = form_body({"type": "view_submission", "user": {"id": QA_SLACK}, "team": {"id": TEAM}})
    assert post_interaction(client, body).status_code == 200
    assert SlackInteraction.objects.order_by("-pk").first().status == InteractionStatus.IGNORED
    body = b"payload=not-json"
    assert post_interaction(client, body).status_code == 200
    assert SignOff.objects.count() == 1


def test_a_reply_is_retried_until_slack_takes_it(
    world: Any,
    response_url: FakeResponseUrl,
    client: Client,
    queued: Queued,
    run: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    response_url.answers = [Answer(500, b"oops"), Answer(429, b"", {"Retry-After": "3"})]
    press(
        client,
        world,
        response_url,
        role=Role.QA,
        vote="go",
        user=QA_SLACK,
        capture=django_capture_on_commit_callbacks,
    )
    reply = SlackReply.objects.get()
    assert run.reply(reply) == "retry"
    assert run.reply(reply, due=True) == "retry"
    assert queued.replies[-1][1] >= 3
    assert run.reply(reply, due=True) == "sent"
    reply.refresh_from_db()
    assert reply.status == SendStatus.SENT and [a["status"] for a in reply.answers] == [500, 429, 200]
    assert len(response_url.bodies()) == 1


def test_an_expired_response_url_is_not_retried(
    world: Any,
    response_url: FakeResponseUrl,
    client: Client,
    queued: Queued,
    run: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    response_url.answers = [Answer(404, b"expired_url")]
    press(
        client,
        world,
        response_url,
        role=Role.QA,
        vote="go",
        user=QA_SLACK,
        capture=django_capture_on_commit_callbacks,
    )
    reply = SlackReply.objects.get()
    assert run.reply(reply) == "failed"
    reply.refresh_from_db()
    assert reply.answers[-1]["error"] == "expired_url"
    assert SignOff.objects.count() == 1  # the vote stands


def test_a_go_over_a_failing_own_gate_needs_a_comment_as_on_the_board(
    world: Any,
    response_url: FakeResponseUrl,
    client: Client,
    queued: Queued,
    run: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from gates.services import gate_result_record

    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="r-1")
    text = refusal(
        client,
        world,
        response_url,
        queued,
        run,
        django_capture_on_commit_callbacks,
        role=Role.BACKEND_LEAD,
        vote="go",
        user=LEAD_SLACK,
    )
    assert "which your role owns, has not passed" in text and "Gate 0" in text
    # With a word in the comment, as the board asks, it is recorded.
    SlackInteraction.objects.all().delete()
    response_url.received.clear()
    press(
        client,
        world,
        response_url,
        role=Role.BACKEND_LEAD,
        vote="go",
        user=LEAD_SLACK,
        comment="Flaky runner, rerun passing locally",
        capture=django_capture_on_commit_callbacks,
    )
    signoff = SignOff.objects.get()
    assert (signoff.role, signoff.signed_by, signoff.comment) == (
        Role.BACKEND_LEAD,
        world.lead,
        "Flaky runner, rerun passing locally",
    )


def test_a_replayed_request_is_answered_but_not_recorded_again(
    world: Any, response_url: FakeResponseUrl, client: Client
) -> None:
    """The same signed request sent again within its 5 minutes (a replay): Slack gets its
    200, nothing is stored or signed a second time, so it cannot undo a later vote."""
    button = buttons_of(ask_message(world.release))[(Role.QA, "go")]
    body = form_body(block_actions(button=button, user=QA_SLACK, team=TEAM, response_url=response_url.url))
    headers = sign(body)
    assert post_interaction(client, body, headers).status_code == 200
    assert SignOff.objects.count() == 1
    again = post_interaction(client, body, headers)
    assert (again.status_code, again.content) == (200, b"")
    assert SignOff.objects.count() == 1
    assert SlackInteraction.objects.count() == 1
