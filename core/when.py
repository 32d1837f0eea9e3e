"""Times as people read them: in the active time zone (each person's, activated per request
by accounts.middleware.time_zone_activate; the server's TIME_ZONE elsewhere), always with
that zone's name, and relative times in plain words.

    when_text(moment)                 → "2026-12-01 16:05 KST"
    when_text(moment, "time")         → "16:05 KST"
    zone_label(moment)                → "KST", "UTC", or "UTC+4" where the zone has no abbreviation
    ago_text(moment)                  → "just now", "5 minutes ago", "1시간 37분 전"

The templates reach these as the `when` and `ago` filters (accounts/templatetags/when.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# `when_text`'s formats, in Django's date-format letters. A pure date (Y-m-d) has no zone:
# templates keep `|date:"Y-m-d"` for those.
FORMATS = {
    "datetime": "Y-m-d H:i",
    "seconds": "Y-m-d H:i:s",
    "short": "m-d H:i",
    "time": "H:i",
    "time_seconds": "H:i:s",
}


def _local(moment: datetime) -> datetime:
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return timezone.localtime(moment)


def zone_label(moment: datetime) -> str:
    """The zone's abbreviation at that moment ("KST", "CET" or "CEST"), or its offset from
    UTC where the zone database has no abbreviation ("+04" becomes "UTC+4", "+0530" "UTC+5:30")."""
    name = moment.tzname() or ""
    if name and name[0] not in "+-" and not name[0].isdigit():
        return name
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def when_text(moment: datetime | None, fmt: str = "datetime") -> str:
    """`moment` in the active zone, in one of FORMATS, followed by the zone ("" for None)."""
    if moment is None:
        return ""
    local = _local(moment)
    return f"{dateformat.format(local, FORMATS[fmt])} {zone_label(local)}"


def active_zone_label(moment: datetime | None = None) -> str:
    """The active zone's label now (or at `moment`): "KST", "UTC+4"."""
    return zone_label(_local(moment or timezone.now()))


def _span(seconds: float) -> str:
    """A duration in its largest unit and the next one down when not zero, as Django's
    timesince does: "1 hour, 37 minutes", "3 days", "2 weeks, 1 day"."""
    minutes = int(seconds // 60)
    units = [
        (365 * 24 * 60, lambda n: ngettext("%(n)d year", "%(n)d years", n) % {"n": n}),
        (30 * 24 * 60, lambda n: ngettext("%(n)d month", "%(n)d months", n) % {"n": n}),
        (7 * 24 * 60, lambda n: ngettext("%(n)d week", "%(n)d weeks", n) % {"n": n}),
        (24 * 60, lambda n: ngettext("%(n)d day", "%(n)d days", n) % {"n": n}),
        (60, lambda n: ngettext("%(n)d hour", "%(n)d hours", n) % {"n": n}),
        (1, lambda n: ngettext("%(n)d minute", "%(n)d minutes", n) % {"n": n}),
    ]
    for i, (size, word) in enumerate(units):
        count, rest = divmod(minutes, size)
        if count:
            larger = word(count)
            if i + 1 < len(units) and rest // units[i + 1][0]:
                smaller = units[i + 1][1](rest // units[i + 1][0])
                # English joins the two with a comma, Korean with a space ("1시간 37분").
                return _("%(larger)s, %(smaller)s") % {"larger": larger, "smaller": smaller}
            return larger
    return ngettext("%(n)d minute", "%(n)d minutes", 0) % {"n": 0}


def ago_text(moment: datetime | None, now: datetime | None = None) -> str:
    """How long ago `moment` was: "just now" under a minute (either way: clocks differ a
    little), "5 minutes ago", "1 hour, 37 minutes ago"; "in 5 minutes" for a later one."""
    if moment is None:
        return ""
    now = now or timezone.now()
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    seconds = (now - moment).total_seconds()
    if abs(seconds) < 60:
        return _("just now")
    if seconds < 0:
        return _("in %(span)s") % {"span": _span(-seconds)}
    return _("%(span)s ago") % {"span": _span(seconds)}
