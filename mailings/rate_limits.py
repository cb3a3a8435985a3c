"""Rate limits counted in the shared cache (Redis), so that every web process holds them together.

A limit counts hits per bucket (`api-user:12`, `test-messages:12`) in fixed windows aligned on
the clock (each minute, each hour): one `add` that opens the window's counter with its expiry,
or one `incr`, both atomic in Redis, so concurrent requests in any number of processes are
all counted. A bucket may therefore get its whole allowance at the end of one window and again
at the start of the next. A window's counter expires just after the window ends: Redis keeps
only the counters of the current windows.

With the file cache of `make run` without Redis (one machine), `incr` is a read and a write:
concurrent hits may be counted as one.
"""

import math
import time
from dataclasses import dataclass

from django.core.cache import cache

from backoffice.rates import Rate

clock = time.time  # the tests set the time here


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    rate: Rate
    count: int  # hits counted in this window, this one included (refused ones too)
    retry_after: int  # whole seconds until the window ends, at least 1
    window_ends: float  # when, in seconds since the epoch


def _hit(key: str, timeout: int) -> int:
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # it expired between the two calls: its window is over, this hit opens the next
        cache.add(key, 1, timeout=timeout)
        return 1


def rate_limit_hit(*, bucket: str, rate: Rate) -> Verdict:
    """Count one hit in `bucket` and say whether it is within `rate`.

    Whatever the cache raises when it does not answer is raised: the caller decides whether
    an uncounted hit goes through.
    """
    now = clock()
    window = math.floor(now / rate.seconds)
    window_ends = (window + 1) * rate.seconds
    count = _hit(f"rate:{bucket}:{rate.seconds}:{window}", timeout=math.ceil(window_ends - now) + 1)
    return Verdict(
        allowed=count <= rate.count,
        rate=rate,
        count=count,
        retry_after=max(1, math.ceil(window_ends - now)),
        window_ends=window_ends,
    )
