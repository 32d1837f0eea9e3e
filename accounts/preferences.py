"""A person's own settings: the time zone their pages show times in.

Not chosen (no Profile, or an empty `time_zone`): the server's TIME_ZONE, and the pages
offer the browser's zone once (static/js/time-zone.js). Read once per request by
accounts.middleware.time_zone_activate.
"""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import audit_record
from core.errors import RuleViolation

from .models import Profile

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every zone the zone database knows, sorted (about 600)."""
    return tuple(sorted(zoneinfo.available_timezones()))


def saved_time_zone(user: AbstractBaseUser) -> str:
    """The zone `user` chose, "" if none: one query (none for someone signed out)."""
    if not user.is_authenticated:
        return ""
    return Profile.objects.filter(user_id=user.pk).values_list("time_zone", flat=True).first() or ""


@transaction.atomic
def time_zone_save(*, user: AbstractBaseUser, zone: str, actor: AbstractBaseUser) -> Profile:
    """Save `user`'s time zone, an IANA name from the zone database (refused otherwise,
    saying so). The change is on the audit trail; saving the same zone again writes nothing."""
    zone = zone.strip()
    if zone not in time_zone_names():
        raise RuleViolation(
            "time_zone_unknown",
            _("%(zone)s is not a time zone name. Pick one from the list, such as Asia/Seoul or %(default)s.")
            % {"zone": zone[:64] or "—", "default": settings.TIME_ZONE},
            field="time_zone",
        )
    profile, _created = Profile.objects.select_for_update().get_or_create(user_id=user.pk)
    if profile.time_zone == zone:
        return profile
    before = profile.time_zone
    profile.time_zone = zone
    profile.save(update_fields=["time_zone"])
    audit_record(
        actor=actor,
        action="profile.time_zone",
        obj=profile,
        before={"user": user.get_username(), "time_zone": before},
        after={"user": user.get_username(), "time_zone": zone},
    )
    return profile
