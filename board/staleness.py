"""When a sign-off goes stale, and why (docs/concepts.md, "When a sign-off goes stale").

A sign-off goes stale only when something changed since it was given that could change
that signer's vote, and it says what changed:

- a new build or commit;
- bad news: a gate before release turning failed, error or skipped (from any other state,
  or none), a critical defect reported, a defect reopened, a core scenario marked failed
  or blocked;
- on a gate the signer's role owns: a waiver granted or revoked.

What a signer was waiting for never makes it stale: a gate passing, a defect resolved,
a core scenario passed, another role's waiver approved. Bad news stays news: a gate that
failed after the sign-off and passed again still needs the sign-off given again.

Pure: `release_news` works from rows already read (no query), `signoff_stale_reason`
from plain values. The PM/PO's decision keeps its stricter rule (any change of the
evidence fingerprint, or a rule weakened: board.selectors.ReleaseBoard.decision_stale).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.when import when_text

FAILING = frozenset({"failed", "error", "skipped"})
BAD_TICKS = frozenset({"failed", "blocked"})
# The audit actions that are bad news when they say so (read by `board.selectors`).
NEWS_ACTIONS = ("defect.reopen", "defect.update", "checklist_item.tick", "checklist_item.undo")


@dataclass(frozen=True)
class News:
    """Something that happened to the release: `at` is when the board learned it, `role`
    the only role it concerns ("" for every role)."""

    code: str
    at: datetime
    params: tuple[tuple[str, str], ...] = field(default=())
    role: str = ""


@dataclass(frozen=True)
class StaleReason:
    code: str
    params: tuple[tuple[str, str], ...] = field(default=())

    def message(self) -> str:
        return stale_message(self.code, self.params)


def signoff_stale_reason(
    *,
    role: str,
    signed_at: datetime,
    signed_on: Mapping[str, Any],
    build_number: int,
    commit_sha: str,
    news: Iterable[News],
) -> StaleReason | None:
    """Why the sign-off `role` gave at `signed_at` on `signed_on` (its evidence snapshot)
    no longer stands, or None when it does. The build or commit first, else the earliest
    news since that concerns the role."""
    before_build = signed_on.get("build_number")
    if before_build != build_number:  # a snapshot without a build cannot say it was this one
        return StaleReason("build", (("before", str(before_build)), ("after", str(build_number))))
    before_commit = signed_on.get("commit_sha")
    if before_commit is not None and before_commit != commit_sha:
        return StaleReason("commit", (("before", str(before_commit)[:10]), ("after", commit_sha[:10])))
    since = [n for n in news if n.at > signed_at and (not n.role or n.role == role)]
    if not since:
        return None
    first = min(since, key=lambda n: n.at)
    return StaleReason(first.code, first.params)


def owned_failing_gates(gates: Iterable[Any], role: str) -> list[str]:
    """The names of the gates before release that `role` owns and that fail now (failed,
    error, skipped; not carried by a waiver): a Go sign-off over them needs a word."""
    return [
        row.gate.name
        for row in gates
        if row.gate.owner_role == role and row.gate.phase == "pre_release" and row.display_status in FAILING
    ]


def stale_reasons(signoffs: Iterable[Any], release: Any, news: list[News]) -> dict[str, StaleReason]:
    """`signoff_stale_reason` of each role's newest sign-off (SignOff rows), by role."""
    reasons = {}
    for s in signoffs:
        reason = signoff_stale_reason(
            role=s.role,
            signed_at=s.signed_at,
            signed_on=s.evidence or {},
            build_number=release.build_number,
            commit_sha=release.commit_sha,
            news=news,
        )
        if reason is not None:
            reasons[s.role] = reason
    return reasons


def _at(moment: datetime | None) -> tuple[str, str]:
    return ("at", moment.isoformat() if moment else "")


def release_news(
    gates: Iterable[Any],
    worsened: Mapping[int, Any],
    waivers: Iterable[Any],
    defects: Iterable[Any],
    core_items: Iterable[Any],
    events: Iterable[Any],
) -> list[News]:
    """The bad news and waiver changes of a release, from rows already read: its gates,
    `worsened` (gate id → the result that last turned it failing: gates.selectors.
    gate_history), its waivers (`is_current` set), defects, core checklist items, and the
    audit events of `NEWS_ACTIONS` since its oldest sign-off."""
    news: list[News] = []
    by_id = {}
    for gate in gates:
        if gate.phase != "pre_release":
            continue  # smoke gates report during the rollout, after every sign-off
        by_id[gate.pk] = gate
        result = worsened.get(gate.pk)
        if result is not None:
            news.append(
                News(
                    f"gate_{result.status}",
                    result.received_at,
                    (("gate", gate.name), _at(result.observed_at)),
                )
            )
    for waiver in waivers:
        gate = by_id.get(waiver.gate_id)
        if gate is None or not gate.owner_role or not getattr(waiver, "is_current", True):
            continue  # (a gate owned by no role: a waiver on it is no signer's news)
        if waiver.decided_at is None:
            continue
        name = ("gate", gate.name)
        if waiver.state in ("approved", "revoked"):
            news.append(
                News("waiver_granted", waiver.decided_at, (name, _at(waiver.decided_at)), gate.owner_role)
            )
        if waiver.revoked_at is not None:
            news.append(
                News("waiver_revoked", waiver.revoked_at, (name, _at(waiver.revoked_at)), gate.owner_role)
            )
    defect_titles = {}
    for defect in defects:
        defect_titles[str(defect.pk)] = defect.title
        if defect.severity == "critical":
            news.append(
                News(
                    "defect_critical", defect.reported_at, (("title", defect.title), _at(defect.reported_at))
                )
            )
    core_titles = {str(i.pk): i.title for i in core_items}
    for event in events:
        oid = str(event.object_id)
        if event.action == "defect.reopen" and oid in defect_titles:
            news.append(News("defect_reopened", event.at, (("title", defect_titles[oid]), _at(event.at))))
        elif event.action == "defect.update" and oid in defect_titles:
            # A tracker raised it to critical: as bad as a critical defect reported then.
            was, now = (event.before or {}).get("severity"), (event.after or {}).get("severity")
            if was != "critical" and now == "critical":
                news.append(News("defect_critical", event.at, (("title", defect_titles[oid]), _at(event.at))))
        elif event.action in ("checklist_item.tick", "checklist_item.undo") and oid in core_titles:
            after = (event.after or {}).get("state")
            before = (event.before or {}).get("state")
            if after in BAD_TICKS and before not in BAD_TICKS:
                news.append(News(f"core_{after}", event.at, (("title", core_titles[oid]), _at(event.at))))
    return news


STALE_MESSAGES = {
    "build": gettext_noop("a new build (%(after)s, signed on %(before)s)"),
    "commit": gettext_noop("a new commit (%(after)s, signed on %(before)s)"),
    "gate_failed": gettext_noop("“%(gate)s” failed at %(at)s"),
    "gate_error": gettext_noop("“%(gate)s” did not finish (error) at %(at)s"),
    "gate_skipped": gettext_noop("“%(gate)s” was skipped at %(at)s"),
    "defect_critical": gettext_noop("a critical defect was reported at %(at)s: “%(title)s”"),
    "defect_reopened": gettext_noop("“%(title)s” was reopened at %(at)s"),
    "core_failed": gettext_noop("core scenario “%(title)s” failed at %(at)s"),
    "core_blocked": gettext_noop("core scenario “%(title)s” was blocked at %(at)s"),
    "waiver_granted": gettext_noop("a waiver for “%(gate)s” was approved at %(at)s"),
    "waiver_revoked": gettext_noop("the waiver for “%(gate)s” was revoked at %(at)s"),
}


def _moment(iso: str) -> str:
    """A time today as "14:02 KST", an earlier one with its date."""
    if not iso:
        return "—"
    moment = datetime.fromisoformat(iso)
    same_day = timezone.localtime(moment).date() == timezone.localdate()
    return when_text(moment, "time" if same_day else "short")


def stale_message(code: str, params: Iterable[tuple[str, str]]) -> str:
    """What changed, in the active language and time zone."""
    p = dict(params)
    if "gate" in p:
        p["gate"] = _(p["gate"])  # names from the default policy are in the catalogue
    if "title" in p and code.startswith("core_"):
        p["title"] = _(p["title"])
    if "at" in p:
        p["at"] = _moment(p["at"])
    template = _(STALE_MESSAGES[code]) if code in STALE_MESSAGES else code
    try:
        return template % p
    except (KeyError, ValueError):
        return template
