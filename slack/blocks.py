"""The ask's Block Kit message (api.slack.com/reference/block-kit/blocks): a header, the
release and its verdict in words, the missing sign-offs, an optional comment (`input`
with a `plain_text_input`, `dispatch_action` false) and, per missing role, an `actions`
block with Go (`primary`) and No-Go (`danger`) buttons whose `value` names the release and
the role. The same builder makes the updated message after a vote: who signed what, what
is still missing. Words are in the product's language."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Role
from board.links import board_url
from board.selectors import ReleaseBoard, release_board
from releases.models import Release, Vote

ACTION_PREFIX = "gonogo_signoff"
COMMENT_BLOCK = "gonogo_comment"
COMMENT_ACTION = "comment"
TEXT_MAX = 3000  # a section's text


def role_label(role: str) -> str:
    return str(Role(role).label) if role in Role.values else role


def missing_roles(board: ReleaseBoard) -> list[str]:
    """The roles whose sign-off is not in, or no longer fresh."""
    return [row["role"] for row in board.signoff_rows if not row["signoff"] or not row["fresh"]]


def action_value(release: Release, role: str, vote: str) -> str:
    return json.dumps(
        {
            "release": release.pk,
            "product": release.product.slug,
            "version": release.version,
            "role": role,
            "vote": vote,
        },
        separators=(",", ":"),
    )


def action_value_parse(value: str) -> dict[str, Any] | None:
    """The button's value, or None when it is not one of ours."""
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("release"), int):
        return None
    if not all(isinstance(data.get(k), str) for k in ("product", "version", "role", "vote")):
        return None
    return data


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:150], "emoji": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:TEXT_MAX]}}


def _verdict_words(board: ReleaseBoard) -> str:
    if board.verdict.ready:
        return _("READY: every gate, check and sign-off is in.")
    lines = [
        _("BLOCKED: %(count)s reason(s).") % {"count": board.verdict.count},
        *(f"• {b.message()}" for b in board.verdict.blockers[:8]),
    ]
    if board.verdict.count > 8:
        lines.append(_("… and %(more)s more on the board.") % {"more": board.verdict.count - 8})
    return "\n".join(lines)


def _signed_line(row: dict[str, Any], via_slack: set[int]) -> str:
    signoff = row["signoff"]
    mark = "✓" if signoff.vote == Vote.GO else "✗"
    words = {
        "role": row["role_label"],
        "vote": Vote(signoff.vote).label,
        "who": signoff.signed_by.get_username(),
    }
    line = _("%(role)s: %(vote)s by %(who)s") % words
    if signoff.pk in via_slack:
        line += " " + _("(via Slack)")
    if signoff.comment:
        line += f" — “{signoff.comment[:300]}”"
    return f"{mark} {line}"


def ask_message(release: Release, *, via_slack: set[int] | None = None) -> dict[str, Any]:
    """`text` (the notification's fallback) and `blocks` for the release as it is now."""
    with translation.override(release.product.language):
        return _ask_message(release_board(release), via_slack or set())


def _ask_message(board: ReleaseBoard, via_slack: set[int]) -> dict[str, Any]:
    release = board.release
    product = release.product
    missing = missing_roles(board)
    names = {"product": product.name, "version": release.version}
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(_("Sign-offs for %(product)s %(version)s") % names)},
        _section(
            _("*%(product)s %(version)s* (build %(build)s): <%(url)s|open the board>")
            % {**names, "build": release.build_number, "url": settings.GONOGO_BASE_URL + board_url(release)}
        ),
        _section(_verdict_words(board)),
    ]
    signed = [_signed_line(row, via_slack) for row in board.signoff_rows if row["signoff"] and row["fresh"]]
    if signed:
        blocks.append(_section(_("*Signed*") + "\n" + "\n".join(signed)))
    if missing:
        labels = ", ".join(role_label(r) for r in missing)
        blocks.append(_section(_("*Missing sign-offs:* %(roles)s") % {"roles": labels}))
        blocks.append(
            {
                "type": "input",
                "block_id": COMMENT_BLOCK,
                "optional": True,
                "dispatch_action": False,
                "label": _plain(_("Comment (required for No-Go)")),
                "element": {"type": "plain_text_input", "action_id": COMMENT_ACTION, "multiline": True},
            }
        )
        for role in missing:
            blocks.append(
                _section(_("*%(role)s*: sign as the person linked to you") % {"role": role_label(role)})
            )
            blocks.append(
                {
                    "type": "actions",
                    "block_id": f"{ACTION_PREFIX}_{role}",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": f"{ACTION_PREFIX}_{role}_go",
                            "text": _plain(_("Go as %(role)s") % {"role": role_label(role)}),
                            "style": "primary",
                            "value": action_value(release, role, Vote.GO),
                        },
                        {
                            "type": "button",
                            "action_id": f"{ACTION_PREFIX}_{role}_no_go",
                            "text": _plain(_("No-Go as %(role)s") % {"role": role_label(role)}),
                            "style": "danger",
                            "value": action_value(release, role, Vote.NO_GO),
                        },
                    ],
                }
            )
        text = _("Sign-offs wanted for %(product)s %(version)s: %(roles)s") % {**names, "roles": labels}
    else:
        blocks.append(_section(_("Every sign-off %(product)s asks for is in.") % {"product": product.name}))
        text = _("Every sign-off is in for %(product)s %(version)s.") % names
    return {"text": text, "blocks": blocks}
