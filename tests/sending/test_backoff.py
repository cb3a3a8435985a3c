import random
from datetime import timedelta

import pytest

from mailings.sending.backoff import retry_delay

DRAWS = 1000


def _draws(*, attempt: int, base: float, cap: float, seed: int = 1234, n: int = DRAWS) -> list[float]:
    rng = random.Random(seed)
    return [retry_delay(attempt=attempt, base=base, cap=cap, rng=rng).total_seconds() for _ in range(n)]


class TestRetryDelayBounds:
    @pytest.mark.parametrize("attempt", range(1, 13))
    @pytest.mark.parametrize(("base", "cap"), [(1.0, 60.0), (0.5, 10.0), (30.0, 600.0), (2.0, 2.0)])
    def test_it_stays_within_zero_and_the_capped_ceiling(self, attempt, base, cap):
        ceiling = min(cap, base * 2 ** (attempt - 1))
        delays = _draws(attempt=attempt, base=base, cap=cap, seed=attempt)
        assert all(0 <= d <= ceiling for d in delays), (min(delays), max(delays), ceiling)

    def test_it_returns_a_timedelta(self):
        delay = retry_delay(attempt=3, base=1.0, cap=60.0, rng=random.Random(7))
        assert isinstance(delay, timedelta)

    def test_it_is_reproducible_with_a_seeded_rng(self):
        first, second = (_draws(attempt=4, base=1.0, cap=60.0, seed=99, n=50) for _ in range(2))
        assert first == second
        assert first != _draws(attempt=4, base=1.0, cap=60.0, seed=100, n=50)

    def test_it_works_without_an_rng(self):
        delays = [retry_delay(attempt=2, base=1.0, cap=60.0).total_seconds() for _ in range(200)]
        assert all(0 <= d <= 2.0 for d in delays)
        assert len(set(delays)) > 1


class TestRetryDelayCeiling:
    def test_it_uses_the_base_as_the_first_ceiling(self):
        delays = _draws(attempt=1, base=3.0, cap=60.0)
        assert max(delays) <= 3.0
        assert max(delays) > 0.95 * 3.0

    @pytest.mark.parametrize(
        ("attempt", "ceiling"),
        [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 16.0), (6, 32.0), (7, 60.0), (8, 60.0), (20, 60.0)],
    )
    def test_it_doubles_per_attempt_and_stops_at_the_cap(self, attempt, ceiling):
        delays = _draws(attempt=attempt, base=1.0, cap=60.0, seed=attempt)
        # The largest of 1000 uniform draws is within 1% of the ceiling with overwhelming probability.
        assert 0.99 * ceiling < max(delays) <= ceiling

    def test_it_never_exceeds_the_cap_for_huge_attempts(self):
        delays = _draws(attempt=500, base=1.0, cap=300.0)
        assert max(delays) <= 300.0
        assert max(delays) > 0.99 * 300.0


class TestRetryDelayJitter:
    @pytest.mark.parametrize("attempt", [1, 3, 6, 10])
    def test_it_spreads_over_the_whole_range(self, attempt):
        ceiling = min(60.0, 2 ** (attempt - 1))
        delays = _draws(attempt=attempt, base=1.0, cap=60.0, seed=attempt * 17)
        assert any(d < 0.1 * ceiling for d in delays)
        assert any(d > 0.9 * ceiling for d in delays)
        # Roughly uniform: about half the draws in each half of the range.
        low = sum(d < ceiling / 2 for d in delays)
        assert 400 < low < 600

    def test_it_does_not_repeat_the_same_delay(self):
        delays = _draws(attempt=5, base=1.0, cap=60.0)
        assert len(set(delays)) > 990
