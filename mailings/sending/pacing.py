"""How many of a batch's requests are on the wire: up to SENDING_CONCURRENCY, fewer while answers pile up.

A request keeps its slot until its `sent` is written (see recorder), so a worker process
killed leaves at most its slots' worth of messages accepted by the provider and not yet
recorded: those go a second time. Most slots are not that, though, as long as the process
keeps up: a slot spends the provider's latency waiting for the answer, then milliseconds
being read and recorded. When the process cannot keep up (its CPU, or the database,
is the limit), the extra slots fill with answers the provider has accepted and nobody has
read or recorded yet: by Little's law, slots = throughput * (latency + lag), and every
slot beyond throughput * latency holds such an answer. More slots then buy no
throughput, only second copies after a kill.

So the pacer estimates, every PACE_SECONDS, how many answers of this batch are accepted
and not recorded: those waiting for the recorder, plus the answers that came in while the
event loop was late (throughput * the loop's lag). Above `target` it takes half the slots
away; below half of it, and with every slot in use, it gives back a 64th of the ceiling at a
time (additive increase, multiplicative decrease: the slots a busy machine took away come
back over seconds, not in one calm moment), up to the ceiling. A process that keeps up keeps all its slots.
"""

import asyncio
import collections
import os
import time
from collections.abc import Callable

PACE_SECONDS = 0.05
FLOOR = 8  # slots never taken away: a slow trickle still goes
# A process's first batch starts with this many and grows (a 64th of the ceiling every
# PACE_SECONDS while all are busy and answers are recorded as they come: about 4 s to 250):
# a process that cannot keep up never has had all its slots out.
FIRST = 32


class Pacer:
    def __init__(self, *, ceiling: int, target: int, backlog: Callable[[], int], start: int | None = None):
        self.ceiling = max(1, ceiling)
        self.target = target
        self.backlog = backlog  # answers waiting for, or in, the recorder's write
        self.limit = min(self.ceiling, start or self.ceiling)
        self.in_flight = 0
        self._done = 0
        self._waiters: collections.deque[asyncio.Future] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self._last = 0.0

    async def __aenter__(self) -> None:
        if self._timer is None and self.target > 0:
            self._last = time.monotonic()
            self._timer = asyncio.get_running_loop().call_later(PACE_SECONDS, self._pace)
        while self.in_flight >= self.limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter
        self.in_flight += 1

    async def __aexit__(self, *exc) -> None:
        self.in_flight -= 1
        self._done += 1
        self._wake()

    def _wake(self) -> None:
        free = self.limit - self.in_flight
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    def _pace(self) -> None:
        now = time.monotonic()
        elapsed, self._last = now - self._last, now
        lag = max(0.0, elapsed - PACE_SECONDS)  # how late the loop came to this timer
        rate = self._done / elapsed if elapsed > 0 else 0.0
        self._done = 0
        unrecorded = self.backlog() + rate * lag
        if unrecorded > self.target:
            self.limit = max(FLOOR, self.limit // 2)
        elif unrecorded <= self.target / 2 and self.in_flight >= self.limit and self.limit < self.ceiling:
            self.limit = min(self.ceiling, self.limit + max(1, self.ceiling // 64))
            self._wake()
        self._timer = asyncio.get_running_loop().call_later(PACE_SECONDS, self._pace)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


_last_limit: tuple[int, int] | None = None  # (pid, limit): the next batch of this process starts there


def batch_pacer(*, ceiling: int, target: int, backlog: Callable[[], int]) -> Pacer:
    start = _last_limit[1] if _last_limit is not None and _last_limit[0] == os.getpid() else FIRST
    return Pacer(ceiling=ceiling, target=target, backlog=backlog, start=start if target > 0 else ceiling)


def remember(pacer: Pacer) -> None:
    global _last_limit
    _last_limit = (os.getpid(), pacer.limit)
