"""What the board shows of Google Play's production track for a release: stored state
only (the source, the last step and its answers, the track as last read back), never a
call to Google while the board renders."""

from __future__ import annotations

from dataclasses import dataclass

from releases.models import Release, ReleaseState

from .models import PlayCall, PlayCallState, PlaySource, PlayTrackReading
from .play_services import newest_call, play_source_of
from .play_words import board_words, differs, play_words, step_words, version_code_of


@dataclass(frozen=True)
class PlayPanel:
    source: PlaySource
    version_code: str
    reading: PlayTrackReading | None
    play_says: str  # "5 %", "halted at 5 %", … ('' : never read)
    board_says: str
    drift: bool  # Play, as read, is not the board (and no step is on its way)
    last: PlayCall | None  # the newest step (a replaced one aside)
    last_step: str  # its words: "advance to 5 %"
    under_way: bool  # a step waiting or being sent
    completes_next: bool  # the rollout's next step is the last: Play cannot halt after it

    @property
    def failed(self) -> bool:
        return self.last is not None and self.last.state == PlayCallState.FAILED


def _next_is_last(release: Release) -> bool:
    if release.state != ReleaseState.ROLLING_OUT:
        return False
    raw = release.product.rollout_stages
    stages = sorted(
        {p for p in (raw if isinstance(raw, list) else []) if isinstance(p, int) and 0 < p <= 100}
    )
    current = release.rollout_percent or 0
    following = next((p for p in stages if p > current), 100)
    return following >= 100


def play_for_board(release: Release) -> PlayPanel | None:
    """The Play panel of `release`, or None when its product has no active Play source."""
    source = play_source_of(release)
    if source is None:
        return None
    reading = PlayTrackReading.objects.filter(release=release).first()
    last = newest_call(release)
    under_way = last is not None and last.state in (PlayCallState.PENDING, PlayCallState.RUNNING)
    read = reading is not None and reading.read_at is not None
    return PlayPanel(
        source=source,
        version_code=version_code_of(release),
        reading=reading,
        play_says=play_words(reading, release, source.track) if read and reading is not None else "",
        board_says=board_words(release),
        drift=bool(read and reading is not None and not under_way and differs(reading, release)),
        last=last,
        last_step=step_words(last) if last is not None else "",
        under_way=under_way,
        completes_next=_next_is_last(release),
    )
