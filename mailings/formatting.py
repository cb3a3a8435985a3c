"""Figures as the pages and the daily e-mail show them."""

import math
import re

# Whole-hour offsets are stored as IANA's Etc/GMT∓N zones, whose sign is POSIX's, the opposite of
# what people mean: Etc/GMT-3 is three hours ahead of UTC.
_ETC_GMT = re.compile(r"^Etc/GMT(?P<sign>[+-])(?P<hours>[0-9]{1,2})$")


def percent(part: int, whole: int) -> str:
    """`part` of `whole` as `42.9%`; `-` when there is no whole (no messages, no rate)."""
    return f"{100 * part / whole:.1f}%" if whole else "-"


def zone_label(name: str) -> str:
    """A stored time zone as people read it: `Etc/GMT-3` -> `UTC+03:00`; other names as they are."""
    match = _ETC_GMT.match(name)
    if not match:
        return name
    if int(match["hours"]) == 0:
        return "UTC"
    return f"UTC{'-' if match['sign'] == '+' else '+'}{int(match['hours']):02d}:00"


def rate_label(rate: float | None) -> str:
    """A success rate as `97.5%`, rounded down (100.0% only when nothing failed or expired);
    `—` when there is none yet (no message has ended)."""
    return "—" if rate is None else f"{math.floor(1000 * rate) / 10:.1f}%"
