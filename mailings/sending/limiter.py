"""Each provider's rate in SMS parts per second, held together by every worker process on every machine.

The limit is a GCRA (generic cell rate algorithm, a token bucket kept as one timestamp) in
Redis: one Lua script, atomic, keeps per provider the time at which its allowance is used
up (the theoretical arrival time, TAT) and reads the clock of Redis itself, so workers on
machines whose clocks differ share one timeline. A message of n parts costs n parts.

The script reserves: a message asking for n parts gets the next free slot, however far
ahead, and the answer is how long to sleep before sending (`asyncio.sleep`, the event loop
goes on). Reserved slots follow each other, so waiting workers queue in order, and there is
no retry storm against Redis while they wait. A slot later than the caller can use (past
its batch's stop time or the mailing's end) is not reserved: the script answers with the
wait only, and the message is held without an attempt. A reservation given up later (the
mailing paused during the wait) leaves its slot unused: the provider then gets less than
its limit for that moment, never more.

Burst: the bucket lets a provider run ahead of its steady pace by `BURST_SECONDS` worth
of parts (at least the message at hand), so that requests of several workers arriving
together do not all wait for one another, while any one second holds at most
`rate * (1 + BURST_SECONDS)` parts plus one message: 105% of the limit at 200 parts/s. A
message whose process wakes up more than `LATE_SECONDS` after its slot (a busy machine) does not
go late, crowding the slots after it: it reserves a new slot and its missed one goes unused.

Redis unreachable: the message is held for `HOLD_SECONDS` without an attempt (a warning is
logged once per outage and process). Sending unlimited could exceed the provider's rate,
which providers answer with 429s or a blocked account; Redis is usually the broker too, so
an outage long enough to matter stops the sending anyway. A provider with no limit
(`parts_per_second` 0) never calls Redis.

A route row with a limit of its own (`Route.parts_per_second`, carried on the message's row
as `route_limit`) is one more bucket, keyed `route:<prefix or operator>:<provider>`: the
message waits for its slot there first, then for its provider's, and costs its parts in
each. The provider's slot is taken last, right before the request, so the provider's limit
holds as tightly as without routes; a route's slot that the provider's wait makes late
is used late, never added to: the route keeps its cap on average, and while the provider
itself is at its limit a second may hold a few more of the route's parts. A message
whose route row has no limit asks Redis only for its provider's bucket.

Without Redis (`make run` with the cache in files, one machine), the same algorithm runs on
`var/limiter.json`, locked for each message.
"""

import asyncio
import fcntl
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import redis
from django.conf import settings

from mailings.providers import provider_named

logger = logging.getLogger(__name__)

BURST_SECONDS = 0.05  # how far ahead of its steady pace a provider may run
HOLD_SECONDS = 5.0  # a message held because the limiter did not answer waits this long
RETRY_REDIS_SECONDS = 1.0  # after Redis failed to answer, ask again no sooner than this
LATE_SECONDS = BURST_SECONDS  # a message woken later than this after its slot takes a new one
REDIS_TIMEOUT = 0.5  # the sending event loop waits for Redis no longer than this
UNAVAILABLE = "the rate limiter (Redis) did not answer"
MARGIN_SECONDS = 0.05  # a slot this close to the caller's `until` is too late (the request needs time)

# KEYS[1]: the provider's TAT in microseconds of Redis's clock. ARGV: microseconds per part,
# parts, burst in microseconds, the longest wait the caller can use (microseconds).
# Returns {1, wait}: reserved, send after `wait`; {0, wait}: nothing reserved, the wait is too long.
GCRA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local cost = tonumber(ARGV[1]) * tonumber(ARGV[2])
local burst = math.max(tonumber(ARGV[3]), cost)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat + cost - burst - now
if wait < 0 then wait = 0 end
if wait > tonumber(ARGV[4]) then return {0, wait} end
redis.call('SET', KEYS[1], string.format('%d', tat + cost), 'PX', math.ceil((tat + cost - now) / 1000) + 1000)
return {1, wait}
"""


class Held(Exception):
    """Why a message does not go now, and when to try it again (`retry_at`, a time.time() value)."""

    def __init__(self, reason: str, retry_at: float):
        super().__init__(reason)
        self.reason = reason
        self.retry_at = retry_at


class LimiterUnavailable(Exception):
    pass


def gcra(tat: float, now: float, *, interval: float, parts: int, burst: float, max_wait: float) -> tuple[bool, float]:
    """The script's arithmetic in Python, for the file store: (reserved, wait); the new TAT is
    `max(tat, now) + interval * parts` when reserved."""
    cost = interval * parts
    start = max(tat, now)
    wait = max(0.0, start + cost - max(burst, cost) - now)
    return wait <= max_wait, wait


class RedisBuckets:
    def __init__(self, url: str, prefix: str):
        self.client = redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT)
        self.script = self.client.register_script(GCRA)
        self.prefix = prefix

    def reserve(self, key: str, *, interval: float, parts: int, burst: float, max_wait: float) -> tuple[bool, float]:
        args = [round(interval * 1e6, 3), parts, round(burst * 1e6), max(0, int(max_wait * 1e6))]
        try:
            reserved, wait = self.script(keys=[f"{self.prefix}:limiter:{key}"], args=args)
        except (redis.RedisError, OSError) as exc:
            raise LimiterUnavailable(str(exc)) from exc
        return bool(reserved), wait / 1e6


class FileBuckets:
    """One machine without Redis: the TATs in a JSON file, read and written under an exclusive lock."""

    def __init__(self, path: Path):
        self.path = path

    def reserve(self, key: str, *, interval: float, parts: int, burst: float, max_wait: float) -> tuple[bool, float]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with os.fdopen(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), "r+") as file:
                fcntl.flock(file, fcntl.LOCK_EX)
                raw = file.read()
                tats = json.loads(raw) if raw.strip() else {}
                now = time.time()
                reserved, wait = gcra(
                    tats.get(key, 0.0), now, interval=interval, parts=parts, burst=burst, max_wait=max_wait
                )
                if reserved:
                    tats[key] = max(tats.get(key, 0.0), now) + interval * parts
                    file.seek(0)
                    file.truncate()
                    file.write(json.dumps(tats))
                return reserved, wait
        except (OSError, ValueError) as exc:
            raise LimiterUnavailable(str(exc)) from exc


def buckets_from_settings() -> RedisBuckets | FileBuckets:
    """The cache's Redis, or a file next to the cache's files when the cache is not Redis."""
    cache = settings.CACHES["default"]
    location = cache.get("LOCATION", "")
    if cache["BACKEND"].endswith("RedisCache") and isinstance(location, str):
        return RedisBuckets(location, cache.get("KEY_PREFIX", ""))
    return FileBuckets(Path(settings.VAR_DIR) / "limiter.json")


def _provider_rate(name: str) -> float:
    provider = provider_named(name)
    return provider.parts_per_second if provider is not None else 0.0


class Limiter:
    """One process's handle on the shared limits (`runtime.process_limiter`)."""

    def __init__(self, buckets=None, rate_of: Callable[[str], float] = _provider_rate):
        self._buckets = buckets
        self.rate_of = rate_of
        self._down_until = 0.0  # monotonic; while the store is known to be down, hold without asking
        self._warned = False

    @property
    def buckets(self):
        if self._buckets is None:
            self._buckets = buckets_from_settings()
        return self._buckets

    async def take(
        self,
        provider: str,
        parts: int,
        *,
        until: float,
        route: tuple[str, float] | None = None,
        rate: float | None = None,
    ) -> float:
        """Wait until `provider` may take a message of `parts` parts; returns the seconds waited.

        `until` (a time.time() value): the latest moment the caller can still send. `route`:
        the (key, parts per second) of the message's route row when it has a limit, waited for
        first. `rate`: the provider's parts per second when the caller read it already (a batch
        reads each provider's once), else `rate_of`. Raises `Held` when a bucket has no slot for
        it before then, or the limiter does not answer."""
        waited = 0.0
        if route is not None:
            key, route_rate = route
            waited = await self._take(key, parts, rate=route_rate, until=until, what=f"route {key}", provider=provider)
        if rate is None:
            rate = self.rate_of(provider)
        if rate <= 0:
            return waited
        return waited + await self._take(
            provider, parts, rate=rate, until=until, what=f"provider {provider}", provider=provider
        )

    async def _take(self, key: str, parts: int, *, rate: float, until: float, what: str, provider: str) -> float:
        started = time.monotonic()
        while True:
            wait = self._reserve(key, parts, rate=rate, until=until, what=what, provider=provider)
            if wait <= 0:
                return time.monotonic() - started
            slot = time.monotonic() + wait
            await asyncio.sleep(wait)
            if time.monotonic() - slot <= LATE_SECONDS:
                return time.monotonic() - started
            # Woken late (a busy machine): sent now, it would crowd the next slots. The missed
            # slot goes unused; a new one is reserved.

    def _reserve(self, key: str, parts: int, *, rate: float, until: float, what: str, provider: str) -> float:
        """The wait for the slot reserved in bucket `key`, or `Held`."""
        now = time.time()
        if time.monotonic() < self._down_until:
            raise Held(UNAVAILABLE, now + HOLD_SECONDS)
        try:
            reserved, wait = self.buckets.reserve(
                key, interval=1 / rate, parts=parts, burst=BURST_SECONDS, max_wait=until - MARGIN_SECONDS - now
            )
        except LimiterUnavailable as exc:
            self._down_until = time.monotonic() + RETRY_REDIS_SECONDS
            if not self._warned:
                self._warned = True
                logger.warning("%s, holding messages: %s", UNAVAILABLE, exc, extra={"provider": provider})
            raise Held(UNAVAILABLE, now + HOLD_SECONDS) from exc
        if self._warned:
            self._warned = False
            logger.warning("the rate limiter answers again", extra={"provider": provider})
        if not reserved:
            raise Held(f"{what} is at its rate of {rate:g} SMS parts per second", now + wait)
        return wait
