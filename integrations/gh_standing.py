"""Where a release stands, in the words GitHub is told (the deployment protection rule's
comment, the `gonogo` commit status's description). Read from the board: `go` only while
a Go stands (Go called, evidence unchanged, verdict still ready)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.utils import translation

from board.links import board_url
from board.selectors import release_board
from core.when import when_text
from releases.models import Release, ReleaseState, Vote

DESCRIPTION_MAX = 140  # GitHub's limit for a commit status description
COMMENT_MAX = 1000


@dataclass(frozen=True)
class Standing:
    kind: str  # go | no_go | blocked | halted | stale | ready
    blockers: list[str] = field(default_factory=list)
    who: str = ""
    at: str = ""
    rationale: str = ""
    link: str = ""

    @property
    def go(self) -> bool:
        return self.kind == "go"

    def description(self) -> str:
        """One line of at most 140 characters."""
        if self.kind == "go":
            text = f"Go called by {self.who} at {self.at}"
        elif self.kind == "no_go":
            text = f"No-Go called by {self.who} at {self.at}"
        elif self.kind == "blocked":
            count = len(self.blockers)
            # Each blocker's first sentence: "3 blockers: “e2e” failed, …"
            short = [b.split(". ")[0].rstrip(".") for b in self.blockers]
            text = f"{count} blocker{'s' if count != 1 else ''}: " + ", ".join(short)
        elif self.kind == "halted":
            text = "Halted: the rollout was stopped; the Go does not stand"
        elif self.kind == "stale":
            text = "The Go no longer stands: the evidence changed since; the PM/PO must call it again"
        else:
            text = "Ready: waiting for the Go call"
        return text if len(text) <= DESCRIPTION_MAX else text[: DESCRIPTION_MAX - 1] + "…"

    def comment(self, version: str) -> str:
        """The protection rule's comment: what stands, every blocker, where to look."""
        if self.kind == "go":
            text = f"Go/No-Go: {version} is Go (called by {self.who} at {self.at})."
        elif self.kind == "no_go":
            text = f"Go/No-Go: {version} is No-Go (called by {self.who} at {self.at})"
            text += f": {self.rationale}" if self.rationale else "."
        elif self.kind == "blocked":
            text = (
                f"Go/No-Go: {version} is blocked by {len(self.blockers)}: "
                + "; ".join(b.rstrip(".") for b in self.blockers)
                + "."
            )
        elif self.kind == "halted":
            text = f"Go/No-Go: the rollout of {version} is halted: the Go does not stand."
        elif self.kind == "stale":
            text = (
                f"Go/No-Go: the Go on {version} no longer stands: the evidence changed since it was called."
            )
        else:
            text = f"Go/No-Go: {version} is ready, waiting for the PM/PO's call."
        if self.link:
            text += f" Board: {self.link}"
        return text[:COMMENT_MAX]


def standing_now(release: Release) -> Standing:
    """Read the board now, in the server's language (what GitHub shows is for everyone)."""
    with translation.override(settings.LANGUAGE_CODE):
        board = release_board(release)
        decision = board.decision
        link = f"{settings.GONOGO_BASE_URL}{board_url(release)}"
        if board.go_stands and decision is not None:
            return Standing(
                "go",
                who=decision.decided_by.get_username(),
                at=when_text(decision.decided_at, "datetime"),
                link=link,
            )
        if decision is not None and decision.outcome == Vote.NO_GO and release.state == ReleaseState.NO_GO:
            return Standing(
                "no_go",
                who=decision.decided_by.get_username(),
                at=when_text(decision.decided_at, "datetime"),
                rationale=decision.rationale,
                link=link,
            )
        if not board.verdict.ready:
            return Standing("blocked", blockers=[b.message() for b in board.verdict.blockers], link=link)
        if release.state == ReleaseState.HALTED:
            return Standing("halted", link=link)
        if decision is not None and decision.outcome == Vote.GO:
            return Standing("stale", link=link)
        return Standing("ready", link=link)
