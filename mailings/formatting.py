"""Figures as the pages and the daily e-mail show them."""

import math
import re
import zoneinfo
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.formats import date_format

# Whole-hour offsets are stored as IANA's Etc/GMT∓N zones, whose sign is POSIX's, the opposite of
# what people mean: Etc/GMT-3 is three hours ahead of UTC.
_ETC_GMT = re.compile(r"^Etc/GMT(?P<sign>[+-])(?P<hours>[0-9]{1,2})$")


def zone_label(name: str) -> str:
    """A stored time zone as people read it: `Etc/GMT-3` -> `UTC+03:00`; other names as they are."""
    match = _ETC_GMT.match(name)
    if not match:
        return name
    if int(match["hours"]) == 0:
        return "UTC"
    return f"UTC{'-' if match['sign'] == '+' else '+'}{int(match['hours']):02d}:00"


def zone_said(name: str, *, at: datetime) -> str:
    """A zone as start and end fields say it: `Moscow time (Europe/Moscow, UTC+03:00)`, its offset
    at `at` (summer and winter differ); `UTC time` for UTC."""
    offset = at.astimezone(zoneinfo.ZoneInfo(name)).utcoffset() or timedelta(0)
    if offset == timedelta(0) and name in ("UTC", "Etc/UTC", "GMT", "Etc/GMT"):
        return "UTC time"
    minutes = int(offset.total_seconds()) // 60
    sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
    utc = f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    label = zone_label(name)
    if label != name:  # an offset zone (Etc/GMT-3): its offset is its name
        return f"{label} time"
    place = name.rsplit("/", 1)[-1].replace("_", " ")
    return f"{place} time ({name}, {utc})"


def rate_label(rate: float | None) -> str:
    """A success rate as `97.5%`, rounded down (100.0% only when nothing failed or expired);
    `—` when there is none yet (no message has ended)."""
    return "—" if rate is None else f"{math.floor(1000 * rate) / 10:.1f}%"


def moment_said(moment: datetime) -> str:
    """A start or an end as a read-only page shows it: in the back-office's zone, which it names,
    `Nov. 29, 2026, 9 p.m. (Moscow time (Europe/Moscow, UTC+03:00))`."""
    zone = zone_said(timezone.get_current_timezone_name(), at=moment)
    return f"{date_format(timezone.localtime(moment), 'DATETIME_FORMAT')} ({zone})"
