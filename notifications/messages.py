"""What an alert says, in words: one `Message` per delivery, in the product's language.

Each event's data (releases.events, docs/alerts.md) is turned into a title ("Rollout
halted") and lines of detail ("error rate 9.0 % is over the bound 1.0 % — Prometheus,
07:35"); every sender (Slack, e-mail, PagerDuty, the generic webhook's `summary`) uses
the same words. Keys an event does not know are ignored. The metric words are the
board's (releases.health_words), so both read the same in each language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from core.when import when_text
from releases.health_words import breach_text

from .models import Delivery


@dataclass(frozen=True)
class Message:
    """One alert in words. `release` is "iOS app 2.4.0 · build 1240" (empty without a
    release); `at` is when the event happened."""

    event: str
    title: str
    lines: tuple[str, ...]
    release: str
    at: datetime
    board_url: str = ""
    # (url, text): the board first, then any the event names (a defect's tracker page).
    links: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    language: str = settings.LANGUAGE_CODE
    when: str = ""

    @property
    def headline(self) -> str:
        """The title with the release: "Rollout halted — iOS app 2.4.0 · build 1240"."""
        return f"{self.title} — {self.release}" if self.release else self.title

    def text(self) -> str:
        """Plain text: the headline, the details, the time and the links."""
        out = [self.headline, "", *self.lines, "", self.when]
        out += [f"{text}: {url}" for url, text in self.links]
        return "\n".join(out).strip() + "\n"


def moment_text(value: datetime | str | None) -> str:
    """A time as people read it here: "2026-12-01 07:35 UTC" in the active time zone (the
    server's for a message sent from a worker)."""
    if not value:
        return "—"
    return when_text(datetime.fromisoformat(value) if isinstance(value, str) else value)


def as_dict(value: Any) -> dict[str, Any]:
    """A stored JSON value as a mapping (anything else reads as empty)."""
    return value if isinstance(value, dict) else {}


def _by(data: dict[str, Any], words: str | None = None) -> list[str]:
    """ "By dana." (or `words`, with %(who)s), when the event says who."""
    if not data.get("by"):
        return []
    return [(words or _("By %(who)s.")) % {"who": data["by"]}]


def _percent(value: Any) -> str:
    return f"{value} %" if value is not None else "—"


def _halt_lines(halt: dict[str, Any]) -> list[str]:
    kind = halt.get("kind")
    if kind == "breach":
        return [breach_text(halt, source=str(halt.get("source", "")), at=halt.get("sampled_at"))]
    if kind == "smoke":
        lines = [_("The smoke test “%(gate)s” failed after deploy.") % {"gate": halt.get("gate_name", "")}]
        return lines + ([str(halt["summary"])] if halt.get("summary") else [])
    lines = [_("Halted by %(who)s.") % {"who": halt.get("by") or _("someone")}]
    return lines + ([_("Reason: %(reason)s") % {"reason": halt["reason"]}] if halt.get("reason") else [])


def _halted(data: dict[str, Any]) -> tuple[str, list[str]]:
    halt = as_dict(data.get("halt"))
    automatic = data.get("automatic", halt.get("kind") in ("breach", "smoke"))
    title = _("Rollout halted automatically") if automatic else _("Rollout halted")
    lines = _halt_lines(halt)
    lines.append(_("Next: resume once health is back in bounds, or roll back."))
    return title, lines


def _breach(data: dict[str, Any]) -> tuple[str, list[str]]:
    source, at = str(data.get("source", "")), data.get("sampled_at")
    lines = [breach_text(b, source=source, at=at) for b in data.get("breaches") or [] if isinstance(b, dict)]
    if data.get("halted"):
        lines.append(_("The rollout was halted."))
    return _("Health out of bounds"), lines


def _decision(go: bool) -> Callable[[dict[str, Any]], tuple[str, list[str]]]:
    def words(data: dict[str, Any]) -> tuple[str, list[str]]:
        title = _("Go called") if go else _("No-Go called")
        lines = _by(data, _("Called by %(who)s."))
        if data.get("rationale"):
            lines.append(_("Reason: %(reason)s") % {"reason": data["rationale"]})
        return title, lines

    return words


def _gate_failed(data: dict[str, Any]) -> tuple[str, list[str]]:
    title = _("Gate “%(gate)s” failed") % {"gate": data.get("gate_name") or data.get("gate", "")}
    return title, [str(data["summary"])] if data.get("summary") else []


def _waiver_requested(data: dict[str, Any]) -> tuple[str, list[str]]:
    title = _("Waiver asked for “%(gate)s”") % {"gate": data.get("gate_name", "")}
    lines = _by(data, _("Asked by %(who)s."))
    if data.get("reason"):
        lines.append(_("Reason: %(reason)s") % {"reason": data["reason"]})
    if data.get("expires_at"):
        lines.append(_("Expires %(when)s.") % {"when": moment_text(data["expires_at"])})
    return title, lines


def _waiver_expiring(data: dict[str, Any]) -> tuple[str, list[str]]:
    title = _("Waiver for “%(gate)s” expires soon") % {"gate": data.get("gate_name", "")}
    return title, [_("Expires %(when)s.") % {"when": moment_text(data.get("expires_at"))}]


def _defect(data: dict[str, Any]) -> tuple[str, list[str]]:
    return _("Critical defect"), [str(data.get("title", "")), *_by(data, _("Reported by %(who)s."))]


def _overdue(data: dict[str, Any]) -> tuple[str, list[str]]:
    lines = [str(data.get("title", ""))]
    if data.get("owner"):
        lines.append(_("Owner: %(who)s") % {"who": data["owner"]})
    if data.get("due"):
        lines.append(_("Due %(date)s.") % {"date": data["due"]})
    return _("Action item overdue"), lines


def _started(data: dict[str, Any]) -> tuple[str, list[str]]:
    return _("Rollout started at %(percent)s") % {"percent": _percent(data.get("stage_percent"))}, _by(data)


def _advanced(data: dict[str, Any]) -> tuple[str, list[str]]:
    words = {"from": _percent(data.get("from_percent")), "to": _percent(data.get("stage_percent"))}
    return _("Rollout advanced from %(from)s to %(to)s") % words, _by(data)


def _resumed(data: dict[str, Any]) -> tuple[str, list[str]]:
    return _("Rollout resumed at %(percent)s") % {"percent": _percent(data.get("stage_percent"))}, _by(data)


def _completed(data: dict[str, Any]) -> tuple[str, list[str]]:
    return _("Fully rolled out"), _by(data)


def _rollback(data: dict[str, Any]) -> tuple[str, list[str]]:
    words = {"minutes": data.get("minutes", "—"), "target": data.get("target_minutes", "—")}
    return _("Rolled back in %(minutes)s min (target %(target)s min)") % words, _by(data)


def _flag(data: dict[str, Any]) -> tuple[str, list[str]]:
    flag = data.get("flag") or data.get("key") or ""
    return _("Feature flag “%(flag)s” switched off") % {"flag": flag}, _by(data)


def _flag_failed(data: dict[str, Any]) -> tuple[str, list[str]]:
    flag = data.get("flag") or data.get("key") or ""
    lines = [_("It is still ON: turn it off at the provider by hand, now.")]
    if data.get("error"):
        lines.append(_("Provider's answer: %(error)s") % {"error": data["error"]})
    return _("Feature flag “%(flag)s” could NOT be switched off") % {"flag": flag}, lines + _by(data)


def _store_failed(data: dict[str, Any]) -> tuple[str, list[str]]:
    lines = [str(data["error"])] if data.get("error") else []
    return _("%(store)s did not take the step “%(step)s”") % {
        "store": data.get("store_name") or data.get("store", ""),
        "step": data.get("step", ""),
    }, lines


def _store_drift(data: dict[str, Any]) -> tuple[str, list[str]]:
    return _("%(store)s says %(theirs)s, the board says %(ours)s") % {
        "store": data.get("store_name") or data.get("store", ""),
        "theirs": data.get("theirs", ""),
        "ours": data.get("ours", ""),
    }, []


def _test(data: dict[str, Any]) -> tuple[str, list[str]]:
    lines = [_("A test from Go/No-Go to check this channel: no action needed.")]
    return _("Test alert"), lines + _by(data, _("Sent by %(who)s."))


WORDS: dict[str, Callable[[dict[str, Any]], tuple[str, list[str]]]] = {
    "decision.go": _decision(True),
    "decision.no_go": _decision(False),
    "gate.failed": _gate_failed,
    "defect.critical": _defect,
    "waiver.requested": _waiver_requested,
    "waiver.expiring": _waiver_expiring,
    "rollout.started": _started,
    "rollout.advanced": _advanced,
    "rollout.halted": _halted,
    "rollout.resumed": _resumed,
    "health.breach": _breach,
    "rollout.completed": _completed,
    "rollback.recorded": _rollback,
    "flag.killed": _flag,
    "flag.kill_failed": _flag_failed,
    "store.failed": _store_failed,
    "store.drift": _store_drift,
    "action_item.overdue": _overdue,
    "channel.test": _test,
}


def release_text(facts: dict[str, Any] | None) -> str:
    """ "iOS app 2.4.0 · build 1240" from a delivery's `release` facts."""
    if not facts:
        return ""
    text = f"{facts.get('product_name') or facts.get('product', '')} {facts.get('version', '')}".strip()
    if facts.get("build") is not None:
        text += " · " + _("build %(build)s") % {"build": facts["build"]}
    return text


def message_for(delivery: Delivery, *, language: str | None = None) -> Message:
    """The delivery in words, in the language it was stored with (the product's), or in
    `language` (the delivery log shows each reader's own)."""
    stored = delivery.data or {}
    language = language or stored.get("language") or settings.LANGUAGE_CODE
    data = as_dict(stored.get("event"))
    at = stored.get("at") or delivery.created_at
    with translation.override(language):
        words = WORDS.get(delivery.event)
        title, lines = words(data) if words else (delivery.event, [])
        facts = as_dict(stored.get("release"))
        release = release_text(facts) or as_dict(stored.get("product")).get("name", "")
        board_url = str(facts.get("board_url", ""))
        links = [(board_url, _("Open the board"))] if board_url else []
        if str(data.get("url", "")).startswith(("http://", "https://")):
            links.append((str(data["url"]), _("Details")))
        moment = datetime.fromisoformat(at) if isinstance(at, str) else at
        return Message(
            event=delivery.event,
            title=str(title),
            lines=tuple(str(line) for line in lines if line),
            release=release,
            at=moment,
            board_url=board_url,
            links=tuple(links),
            language=language,
            when=moment_text(moment),
        )
