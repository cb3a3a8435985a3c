"""Client-local sending windows: is it a good time to text this client, and when will it be?

A window is two local times; `start > end` wraps midnight (21:00-09:00). Local time
comes from the client's time zone with its DST rules, so a window holds across the
clock changes.
"""

from datetime import datetime, time, timedelta

from mailings.normalizers import zone_for

# Should no opening be found in the next days (it always is), look again soon.
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
    """The first instant after `at` when the client's local clock reads `start`.

    Looks at today and the next two local days, both passes of a repeated hour when
    the clocks go back; a `start` inside a spring-forward gap opens when the gap ends.
    """
    zone = zone_for(zone_name)
    today = at.astimezone(zone).date()
    candidates = [
        datetime.combine(today + timedelta(days=offset), start, tzinfo=zone).replace(fold=fold)
        for offset in range(3)
        for fold in (0, 1)
    ]
    later = [candidate for candidate in candidates if candidate > at]
    return min(later, default=at + RETRY_SOON)
