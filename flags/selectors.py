"""What the board shows of a release's feature flags: stored state only (the panel is
cached and never calls a provider while it renders)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import OuterRef, Subquery

from releases.models import Release

from .models import Flag, FlagShip, FlagState, Kill, KillStatus


@dataclass(frozen=True)
class FlagRow:
    flag: Flag
    ships: bool
    last_kill: Kill | None

    @property
    def kill_pending(self) -> bool:
        return self.last_kill is not None and self.last_kill.status == KillStatus.PENDING

    @property
    def still_on(self) -> bool:
        """The last Kill failed and no read since says the flag is off: it is STILL ON."""
        return (
            self.last_kill is not None
            and self.last_kill.status == KillStatus.FAILED
            and self.flag.state != FlagState.OFF
        )


@dataclass(frozen=True)
class FlagsPanel:
    release: Release
    rows: tuple[FlagRow, ...] = field(default_factory=tuple)

    @property
    def still_on(self) -> tuple[FlagRow, ...]:
        return tuple(r for r in self.rows if r.still_on)

    @property
    def shipped(self) -> tuple[FlagRow, ...]:
        """The flags this release ships and that are not off: what a halt suggests."""
        return tuple(r for r in self.rows if r.ships and r.flag.active and r.flag.state != FlagState.OFF)


def flags_for_board(release: Release) -> FlagsPanel | None:
    """The flags panel of `release` (its product's flags, each with its state read back
    from the provider, whether this release ships it and its last Kill), or None when
    the product has no flags. Three queries."""
    latest = Kill.objects.filter(flag=OuterRef("pk")).order_by("-created_at", "-pk").values("pk")[:1]
    flags = list(
        Flag.objects.filter(product_id=release.product_id)
        .annotate(last_kill_id=Subquery(latest))
        .order_by("-active", "key")
    )
    if not flags:
        return None
    ships = dict(
        FlagShip.objects.filter(release_id=release.pk, flag__in=flags).values_list("flag_id", "ships")
    )
    kill_ids = [f.last_kill_id for f in flags if f.last_kill_id]
    last = {k.flag_id: k for k in Kill.objects.filter(pk__in=kill_ids).select_related("release")}
    return FlagsPanel(
        release=release,
        rows=tuple(FlagRow(flag=f, ships=bool(ships.get(f.pk)), last_kill=last.get(f.pk)) for f in flags),
    )
