"""The providers' shared rate limits (mailings/sending/limiter.py) against the real Redis: the rate
granted to many tasks and processes, parts costing parts, no limit, and Redis gone."""

import asyncio
import logging
import multiprocessing
import time
import uuid
from collections import Counter

import pytest

from mailings.sending import limiter as limiter_module
from mailings.sending.limiter import (
    HOLD_SECONDS,
    UNAVAILABLE,
    FileBuckets,
    Held,
    Limiter,
    RedisBuckets,
    buckets_from_settings,
)


@pytest.fixture
def provider():
    """A provider name of its own: its bucket starts empty."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    buckets = buckets_from_settings()
    buckets.client.delete(f"{buckets.prefix}:limiter:{name}")


def _grants(provider: str, *, rate: float, parts: int, seconds: float, tasks: int) -> list[tuple[float, int]]:
    """(time granted, parts) of every message `tasks` asyncio tasks got in `seconds`, all asking at once."""
    limiter = Limiter(buckets_from_settings(), rate_of=lambda _name: rate)
    grants: list[tuple[float, int]] = []

    async def ask_again_and_again(stop: float):
        while time.time() < stop:
            await limiter.take(provider, parts, until=stop + 60)
            grants.append((time.time(), parts))

    async def run():
        stop = time.time() + seconds
        await asyncio.gather(*(ask_again_and_again(stop) for _ in range(tasks)))

    asyncio.run(run())
    return grants


def _in_a_process(provider: str, rate: float, parts: int, seconds: float, tasks: int) -> list[tuple[float, int]]:
    return _grants(provider, rate=rate, parts=parts, seconds=seconds, tasks=tasks)


def _summary(grants: list[tuple[float, int]], rate: float) -> tuple[float, float]:
    """(mean parts/s from the first grant to the last, the most parts in any 1-second window)."""
    times = sorted(grants)
    first, last = times[0][0], times[-1][0]
    mean = sum(parts for _, parts in times[1:]) / (last - first)
    most, start, inside = 0, 0, 0
    for at, parts in times:  # sliding window: every 1 s span ending at a grant
        inside += parts
        while times[start][0] <= at - 1.0:
            inside -= times[start][1]
            start += 1
        most = max(most, inside)
    return mean, most


class TestSharedRate:
    def test_many_tasks_together_get_the_rate(self, provider):
        grants = _grants(provider, rate=100, parts=1, seconds=3, tasks=30)
        mean, most = _summary(grants, 100)
        assert 96 <= mean <= 104
        assert most <= 110

    def test_many_processes_together_get_the_rate(self, provider):
        with multiprocessing.get_context("fork").Pool(3) as pool:
            results = pool.starmap(_in_a_process, [(provider, 120, 1, 3, 10)] * 3)
        grants = [grant for result in results for grant in result]
        assert {len(result) > 30 for result in results} == {True}  # each process got its share
        mean, most = _summary(grants, 120)
        assert 115.2 <= mean <= 124.8
        assert most <= 132

    def test_a_message_costs_its_parts(self, provider):
        grants = _grants(provider, rate=60, parts=3, seconds=3, tasks=10)
        mean, most = _summary(grants, 60)
        assert 57.6 <= mean <= 62.4
        assert most <= 66
        per_second = Counter(int(at) for at, _ in grants)
        assert max(per_second.values()) <= 22  # about 20 three-part messages a second, not 60

    @pytest.mark.parametrize(
        ("parts", "expected"),
        [
            (5, [0, 0.1, 0.2, 0.3]),  # 100 ms a message, more than the 50 ms burst: one after the other
            (1, [0, 0, 0.01, 0.03, 0.05]),  # 20 ms a message: the burst lets the first ones go together
        ],
    )
    def test_the_script_reserves_slots_one_cost_apart(self, provider, parts, expected):
        buckets = buckets_from_settings()
        interval = 0.1 / parts if parts > 1 else 0.02
        slots = []
        for due in expected:
            asked = time.time()
            reserved, wait = buckets.reserve(provider, interval=interval, parts=parts, burst=0.05, max_wait=10)
            answered = time.time()
            assert reserved
            assert (wait == 0) == (due == 0)
            slots.append((asked + wait, answered + wait))  # when its slot comes, within the call's time
        first_from, first_to = slots[0]  # the bucket's clock starts during the first call
        for (slot_from, slot_to), due in zip(slots, expected, strict=True):
            if due:
                assert first_from + due - 0.005 <= slot_to
                assert slot_from <= first_to + due + 0.005


class TestLateWakeUp:
    def test_a_message_woken_late_takes_a_new_slot(self, provider, monkeypatch):
        """Sent late, it would land among the messages of the next slots: it reserves again."""
        buckets = buckets_from_settings()
        reserved = []
        reserve = buckets.reserve

        def counting(*args, **kwargs):
            reserved.append(reserve(*args, **kwargs))
            return reserved[-1]

        monkeypatch.setattr(buckets, "reserve", counting)
        real_sleep = asyncio.sleep
        late = iter([0.2])  # the first sleep overruns by 200 ms (a busy machine), the next ones do not

        async def sleep(seconds):
            await real_sleep(seconds + next(late, 0))

        monkeypatch.setattr(limiter_module.asyncio, "sleep", sleep)
        limiter = Limiter(buckets, rate_of=lambda _name: 10)

        async def run():
            await limiter.take(provider, 1, until=time.time() + 60)  # goes at once: the bucket was empty
            await limiter.take(provider, 1, until=time.time() + 60)  # waits for its slot, wakes up late

        asyncio.run(run())
        assert [was for was, _ in reserved] == [True, True, True]
        assert reserved[1][1] > 0


class TestHolding:
    def test_a_slot_too_late_is_not_reserved(self, provider):
        limiter = Limiter(buckets_from_settings(), rate_of=lambda _name: 10)

        async def run():
            await limiter.take(provider, 10, until=time.time() + 60)  # the bucket is busy for a second
            with pytest.raises(Held) as held:
                await limiter.take(provider, 1, until=time.time() + 0.3)
            # Nothing was reserved: the next message waits no longer than the refused one would have.
            started = time.time()
            waited = await limiter.take(provider, 1, until=time.time() + 60)
            return held.value, started, waited

        held, started, waited = asyncio.run(run())
        assert held.reason == f"provider {provider} is at its rate of 10 SMS parts per second"
        assert started + waited - 0.1 <= held.retry_at <= started + waited + 0.05
        assert 0.8 <= waited <= 1.05  # its slot, and at most LATE_SECONDS more

    def test_no_limit_never_asks_redis(self):
        class NoStore:
            def reserve(self, *args, **kwargs):
                raise AssertionError("a provider without a limit must not ask the store")

        limiter = Limiter(NoStore(), rate_of=lambda _name: 0)
        assert asyncio.run(limiter.take("default", 3, until=time.time() + 1)) == 0


class TestRedisUnreachable:
    def test_it_holds_the_message_and_warns_once(self, caplog, monkeypatch):
        monkeypatch.setattr(limiter_module, "RETRY_REDIS_SECONDS", 0)  # ask Redis on every message
        limiter = Limiter(RedisBuckets("redis://127.0.0.1:1/0", "x"), rate_of=lambda _name: 100)

        async def run():
            helds = []
            for _ in range(3):
                with pytest.raises(Held) as held:
                    await limiter.take("default", 1, until=time.time() + 60)
                helds.append(held.value)
            return helds

        before = time.time()
        with caplog.at_level(logging.WARNING, logger="mailings.sending.limiter"):
            helds = asyncio.run(run())
        assert {held.reason for held in helds} == {UNAVAILABLE}
        assert all(before + HOLD_SECONDS - 1 <= held.retry_at <= time.time() + HOLD_SECONDS for held in helds)
        assert [r.getMessage().split(":")[0] for r in caplog.records] == [f"{UNAVAILABLE}, holding messages"]

    def test_after_a_failure_it_does_not_ask_again_at_once(self):
        calls = Counter()

        class DownStore:
            def reserve(self, *args, **kwargs):
                calls["reserve"] += 1
                raise limiter_module.LimiterUnavailable("refused")

        limiter = Limiter(DownStore(), rate_of=lambda _name: 100)
        for _ in range(5):
            with pytest.raises(Held):
                asyncio.run(limiter.take("default", 1, until=time.time() + 60))
        assert calls["reserve"] == 1


class TestFileStore:
    def test_it_holds_the_rate_on_one_machine_without_redis(self, tmp_path):
        buckets = FileBuckets(tmp_path / "limiter.json")
        slots = []
        for _ in range(3):
            asked = time.time()
            slots.append(asked + buckets.reserve("default", interval=0.02, parts=5, burst=0.05, max_wait=10)[1])
        assert slots[1] - slots[0] == pytest.approx(0.1, abs=0.005)  # 5 parts x 20 ms, one after the other
        assert slots[2] - slots[1] == pytest.approx(0.1, abs=0.005)
        reserved, _ = buckets.reserve("default", interval=0.02, parts=5, burst=0.05, max_wait=0.05)
        assert not reserved

    def test_it_is_the_store_when_the_cache_is_in_files(self, settings, tmp_path):
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}
        }
        settings.VAR_DIR = tmp_path
        buckets = buckets_from_settings()
        assert isinstance(buckets, FileBuckets)
        assert buckets.path == tmp_path / "limiter.json"
