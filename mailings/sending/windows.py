"""Client-local sending windows: is it a good time to text this client, and when will it be?

A window is two local times; `start > end` wraps midnight (21:00-09:00). Local time
comes from the client's time zone with its DST rules, so a window holds across the
clock changes.
"""

from datetime import datetime, time, timedelta

from mailings.normalizers import zone_for

# When an opening time cannot be computed forward (a DST gap), look again soon.
RETRY_SOON = timedelta(minutes=1)


def window_contains(local: time, start: time, end: time) -> bool:
    if start < end:
        return start <= local < end
    return local >= start or local < end


def window_open(*, at: datetime, zone_name: str, start: time | None, end: time | None) -> bool:
    """Whether a client in `zone_name` may be texted at the (aware) instant `at`."""
    if start is None or end is None:
        return True
    local = at.astimezone(zone_for(zone_name))
    return window_contains(local.time().replace(tzinfo=None), start, end)


def next_opening(*, at: datetime, zone_name: str, start: time) -> datetime:
    """The next instant after `at` when the client's local clock reads `start` (aware, UTC-comparable)."""
    zone = zone_for(zone_name)
    local = at.astimezone(zone)
    day = local.date() if local.time().replace(tzinfo=None) < start else local.date() + timedelta(days=1)
    opening = datetime.combine(day, start, tzinfo=zone)
    if opening <= at:  # the wall time fell in a DST gap; try again shortly
        return at + RETRY_SOON
    return opening
