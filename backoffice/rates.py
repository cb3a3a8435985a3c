"""Rates such as `1200/minute`, read one way by the settings and by the limits that count them.

A rate is a number of requests in a window of one second, minute, hour or day (the periods
DRF's throttles know). Anything else is refused with the variable's name, rather than read
as something it does not say (DRF itself reads `10/month` as ten a minute).
"""

import re
from dataclasses import dataclass

PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_ALIASES = {"s": "second", "sec": "second", "m": "minute", "min": "minute", "h": "hour", "d": "day"}
_RATE = re.compile(r"\s*(\d+)\s*/\s*([a-z]+)\s*")


@dataclass(frozen=True)
class Rate:
    count: int  # at most this many...
    seconds: int  # ...in each window this long

    def __str__(self) -> str:
        period = next(name for name, seconds in PERIODS.items() if seconds == self.seconds)
        return f"{self.count} a {period}"


def parse_rate(name: str, raw: str) -> Rate:
    """`raw` (`<number>/<second|minute|hour|day>`) as a Rate; ValueError naming the variable otherwise."""
    found = _RATE.fullmatch(raw.lower())
    period = found and _ALIASES.get(found.group(2), found.group(2))
    if not found or period not in PERIODS or int(found.group(1)) < 1:
        raise ValueError(
            f"{name}={raw!r}: expected a number of requests (at least 1) per second, minute, hour or day, "
            "such as 1200/minute"
        )
    return Rate(count=int(found.group(1)), seconds=PERIODS[period])
