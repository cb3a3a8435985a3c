"""The pacer: every slot while answers are recorded as they come, fewer while they pile up."""

import asyncio

from mailings.sending import pacing
from mailings.sending.pacing import Pacer


def run_requests(pacer: Pacer, count: int, seconds: float) -> int:
    """`count` requests of `seconds` each through the pacer; returns the most in flight at once."""
    most = 0

    async def one():
        nonlocal most
        async with pacer:
            most = max(most, pacer.in_flight)
            await asyncio.sleep(seconds)

    async def main():
        await asyncio.gather(*(one() for _ in range(count)))
        pacer.close()

    asyncio.run(main())
    return most


class TestPacer:
    def test_a_process_that_keeps_up_keeps_every_slot(self):
        pacer = Pacer(ceiling=50, target=15, backlog=lambda: 0)
        assert run_requests(pacer, 200, 0.06) == 50
        assert pacer.limit == 50

    def test_answers_piling_up_unrecorded_take_slots_away_down_to_the_floor(self):
        pacer = Pacer(ceiling=50, target=15, backlog=lambda: 100)
        run_requests(pacer, 200, 0.06)
        assert pacer.limit == pacing.FLOOR

    def test_off_when_the_target_is_zero(self):
        pacer = Pacer(ceiling=50, target=0, backlog=lambda: 100)
        assert run_requests(pacer, 200, 0.06) == 50
        assert pacer.limit == 50
