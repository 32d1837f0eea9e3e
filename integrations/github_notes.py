"""The GitHub App's lines on the board's decision panel (board/ports.py): the deployments
waiting on our rule and how they were answered, and the `gonogo` commit status. Stored
state only."""

from __future__ import annotations

from django.utils.translation import gettext as _

from board.ports import Note
from core.when import when_text
from releases.models import Release

from .models import CommitStatusPost, DeploymentRequest, DeployState

SHOWN = 3


def deployment_notes(release: Release) -> list[Note]:
    notes: list[Note] = []
    for request in DeploymentRequest.objects.filter(release=release).order_by("-requested_at", "-id")[:SHOWN]:
        words = {"env": request.environment, "run": request.run_id or "?"}
        if request.state == DeployState.WAITING:
            text = _("GitHub: deployment to %(env)s waiting for the Go (run %(run)s)") % words
            notes.append({"tone": "warn", "mark": "⚠", "text": text})
        elif request.state == DeployState.ANSWERING:
            text = _("GitHub: deployment to %(env)s, answer being sent (run %(run)s)") % words
            notes.append({"tone": "warn", "mark": "⚠", "text": text})
        elif request.state == DeployState.FAILED:
            text = _(
                "GitHub: the answer to the deployment to %(env)s could not be sent (run %(run)s): %(why)s"
            ) % {
                **words,
                "why": request.last_error,
            }
            notes.append({"tone": "bad", "mark": "✗", "text": text})
        elif request.answer == "approved":
            text = _("GitHub: deployment to %(env)s approved %(at)s (run %(run)s)") % {
                **words,
                "at": when_text(request.answered_at, "datetime"),
            }
            notes.append({"tone": "ok", "mark": "✓", "text": text})
        else:
            text = _("GitHub: deployment to %(env)s rejected %(at)s (run %(run)s)") % {
                **words,
                "at": when_text(request.answered_at, "datetime"),
            }
            notes.append({"tone": "bad", "mark": "✗", "text": text})
    post = CommitStatusPost.objects.filter(release=release, sha=release.commit_sha).first()
    if post is not None and post.posted_state:
        ok = post.posted_state == "success"
        text = _("GitHub: commit status “gonogo” is %(state)s: %(description)s") % {
            "state": _("success") if ok else _("failure"),
            "description": post.posted_description,
        }
        notes.append({"tone": "ok" if ok else "bad", "mark": "✓" if ok else "✗", "text": text})
    if post is not None and post.last_error:
        text = _("GitHub: the commit status could not be posted: %(why)s") % {"why": post.last_error}
        notes.append({"tone": "bad", "mark": "✗", "text": text})
    return notes
