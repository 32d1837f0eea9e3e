"""Go/No-Go meetings: start, record attendees and notes, end; and the minutes.

Services are atomic and audited; `minutes_markdown` renders the minutes from the board as
it stands, in the active language.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.capabilities import Capability, can
from audit.services import audit_record
from core.errors import Conflict, NotAllowed
from core.markdown import md_block, md_code, md_link
from core.markdown import md_inline as md
from core.status import STATUS
from core.when import when_text
from live.services import live_notify
from releases.lifecycle import release_lock
from releases.models import Meeting, Release

from .selectors import ReleaseBoard

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _ensure_pm(actor: User | None, release: Release) -> User:
    """`actor`, if they may run the meeting."""
    if not can(actor, Capability.RUN_MEETING, release.product):
        raise NotAllowed("role_not_held", _("Only a PM/PO runs the Go/No-Go meeting."))
    return actor


def _clean_attendees(raw: list[str]) -> list[str]:
    return list(dict.fromkeys(a.strip()[:100] for a in raw if a and a.strip()))[:50]


@transaction.atomic
def meeting_start(*, release: Release, actor: User | None, attendees: list[str] | None = None) -> Meeting:
    """Open a meeting (one open meeting per release at a time)."""
    actor = _ensure_pm(actor, release)
    release_lock(release.pk)  # two PMs starting at once: one meeting
    open_meeting = Meeting.objects.filter(release=release, ended_at__isnull=True).first()
    if open_meeting:
        raise Conflict("meeting_open", _("A meeting on this release is already running."))
    meeting = Meeting.objects.create(
        release=release,
        started_by=actor,
        started_at=timezone.now(),
        attendees=_clean_attendees(attendees or [actor.get_username()]),
    )
    audit_record(
        actor=actor,
        action="meeting.start",
        obj=meeting,
        after={"attendees": meeting.attendees},
        release_id=release.pk,
    )
    live_notify(release_id=release.pk, change="meeting")
    return meeting


@transaction.atomic
def meeting_update(*, meeting: Meeting, actor: User | None, attendees: list[str], notes: str) -> Meeting:
    meeting = (
        Meeting.objects.select_for_update(of=("self",)).select_related("release__product").get(pk=meeting.pk)
    )
    _ensure_pm(actor, meeting.release)
    if meeting.ended_at:
        raise Conflict("meeting_ended", _("This meeting has ended; its minutes no longer change."))
    before = {"attendees": meeting.attendees, "notes": meeting.notes}
    meeting.attendees = _clean_attendees(attendees)
    meeting.notes = (notes or "").strip()
    meeting.save(update_fields=["attendees", "notes"])
    after = {"attendees": meeting.attendees, "notes": meeting.notes}
    if after != before:
        audit_record(
            actor=actor,
            action="meeting.update",
            obj=meeting,
            before=before,
            after=after,
            release_id=meeting.release_id,
        )
        live_notify(release_id=meeting.release_id, change="meeting")
    return meeting


@transaction.atomic
def meeting_end(*, meeting: Meeting, actor: User | None) -> Meeting:
    meeting = (
        Meeting.objects.select_for_update(of=("self",)).select_related("release__product").get(pk=meeting.pk)
    )
    _ensure_pm(actor, meeting.release)
    if meeting.ended_at:
        raise Conflict("meeting_ended", _("This meeting has already ended."))
    meeting.ended_at = timezone.now()
    meeting.save(update_fields=["ended_at"])
    audit_record(
        actor=actor,
        action="meeting.end",
        obj=meeting,
        after={"ended_at": meeting.ended_at},
        release_id=meeting.release_id,
    )
    live_notify(release_id=meeting.release_id, change="meeting")
    return meeting


def _when(value: Any) -> str:
    return when_text(value) if value else "—"


def minutes_markdown(board: ReleaseBoard, meeting: Meeting | None) -> str:
    """The meeting's minutes as Markdown: attendees, the agenda in order, votes, the call."""
    # Labels first: xgettext does not look inside f-strings.
    t = {
        "attendees": _("Attendees"),
        "branch": _("Branch"),
        "build": _("Build"),
        "commit": _("Commit"),
        "details": _("Details"),
        "ended": _("Ended"),
        "gate": _("Gate"),
        "go_no_go_meeting": _("Go/No-Go meeting"),
        "last_rollback_rehearsal": _("Last rollback rehearsal"),
        "none": _("None"),
        "notes": _("Notes"),
        "on_call": _("On call"),
        "open_defects": _("Open defects"),
        "operations_readiness": _("Operations readiness"),
        "qa_checklist": _("QA checklist"),
        "release_gates": _("Release gates"),
        "rollback_time_target": _("Rollback time target"),
        "runbook": _("Runbook"),
        "started": _("Started"),
        "status": _("Status"),
        "the_call": _("The call"),
        "verdict": _("Verdict"),
        "votes_by_role": _("Votes by role"),
        "waivers": _("Waivers"),
        "missing": _("missing"),
        "mitigation": _("mitigation"),
        "not_signed_yet": _("not signed yet"),
        "risk": _("risk"),
        "stale": _("stale"),
        "stale_the_evidence_changed_since": _("stale: the evidence changed since"),
        "waived_until": _("waived until"),
    }

    def status(value: str | None) -> str:
        symbol, label, _tone = STATUS.get(value or "none", STATUS["none"])
        return f"{symbol} {label}"

    r = board.release
    lines = [f"# {t['go_no_go_meeting']}: {md(r.product.slug)} {md(r.version)}", ""]
    lines.append(
        f"- {t['build']}: {r.build_number} · {t['commit']}: {md_code(r.commit_sha[:10])} · {t['branch']}: {md(r.branch or '—')}"
    )
    if meeting:
        lines.append(
            f"- {t['started']}: {_when(meeting.started_at)} · {t['ended']}: {_when(meeting.ended_at)}"
        )
        lines.append(f"- {t['attendees']}: {md(', '.join(meeting.attendees) or '—')}")
    verdict = _("READY") if board.verdict.ready else _("BLOCKED") + f" ({board.verdict.count})"
    lines += ["", f"**{t['verdict']}: {verdict}**", ""]
    for b in board.verdict.blockers:
        lines.append(f"- {md(b.message())}")

    lines += [
        "",
        f"## 1. {t['release_gates']}",
        "",
        f"| {t['gate']} | {t['status']} | {t['details']} |",
        "| --- | --- | --- |",
    ]
    for row in board.gates:
        details = row.result.summary if row.result else ""
        if row.waiver_in_force:
            details += f" ({t['waived_until']} {_when(row.waiver_in_force.expires_at)})"
        lines.append(f"| {md(_(row.gate.name))} | {status(row.display_status)} | {md(details)} |")

    p, c = board.checklist_progress, board.core_progress
    lines += ["", f"## 2. {t['qa_checklist']}", ""]
    lines.append(
        _("%(done)s of %(total)s items checked; core scenarios %(passed)s of %(core)s passed.")
        % {"done": p["done"], "total": p["total"], "passed": c["passed"], "core": c["total"]}
    )
    lines += ["", f"## 3. {t['open_defects']}", ""]
    lines += [f"- [{d.get_severity_display()}] {md(d.title)}" for d in board.open_defects] or [
        f"- {t['none']}"
    ]
    lines += ["", f"## 4. {t['waivers']}", ""]
    waivers = [(row, w) for row in board.gates for w in row.waivers]
    lines += [
        f"- {md(_(row.gate.name))}: {w.get_state_display()} — {md(w.reason)} ({t['risk']}: {md(w.risk)}; {t['mitigation']}: {md(w.mitigation)})"
        for row, w in waivers
    ] or [f"- {t['none']}"]
    lines += ["", f"## 5. {t['operations_readiness']}", ""]
    lines.append(
        f"- {t['runbook']}: {md_link(r.product.runbook_url, r.product.runbook_url) if r.product.runbook_url else t['missing']}"
    )
    lines.append(f"- {t['rollback_time_target']}: {r.product.rollback_target_minutes} min")
    last = board.last_rollback
    lines.append(
        f"- {t['last_rollback_rehearsal']}: "
        + (f"{last.performed_on} ({last.minutes} min)" if last else _("none on record"))
    )
    lines += [
        f"- {t['on_call']} {o.get_role_display()}: {md(o.name)} · {md(o.contact)}" for o in board.oncall
    ]
    lines += ["", f"## 6. {t['votes_by_role']}", ""]
    for srow in board.signoff_rows:
        s = srow["signoff"]
        if s:
            stale = "" if srow["fresh"] else f" ⚠ {t['stale']}: {md(srow['stale_reason'])}"
            comment = f" — “{md(s.comment)}”" if s.comment else ""
            lines.append(
                f"- {srow['role_label']}: {status(s.vote)} ({md(s.signed_by.get_username())}){stale}{comment}"
            )
        else:
            lines.append(f"- {srow['role_label']}: {t['not_signed_yet']}")
    lines += ["", f"## 7. {t['the_call']}", ""]
    d = board.decision
    if d:
        stale = f" ⚠ {t['stale_the_evidence_changed_since']}" if board.decision_stale else ""
        lines.append(
            f"**{status(d.outcome)}** — {md(d.decided_by.get_username())}, {_when(d.decided_at)}{stale}"
        )
        if d.rationale:
            lines.append(md_block(d.rationale, prefix="> "))
    else:
        lines.append(_("Not decided yet."))
    if meeting and meeting.notes:
        lines += ["", f"## {t['notes']}", "", md_block(meeting.notes)]
    return "\n".join(lines) + "\n"
