"""Retry delays: exponential backoff with full jitter, capped."""

import random
from datetime import timedelta


def retry_delay(*, attempt: int, base: float, cap: float, rng: random.Random | None = None) -> timedelta:
    """Delay before the next try after `attempt` tries (1-based): uniform in [0, min(cap, base * 2**(attempt-1))].

    Full jitter spreads the retries of a batch that failed together, so a provider
    coming back is not hit by all of them at once.
    """
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return timedelta(seconds=(rng or random).uniform(0, ceiling))
