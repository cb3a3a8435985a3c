"""What the last tick did, kept in the cache for the Sending schedule page.

Beat writes when it *sent* the task (`PeriodicTask.last_run_at`, every few minutes);
this is when a worker *ran* it, how long it took and what it changed. One cache write
per tick; the cache failing loses only this note, never the tick.
"""

import logging
from datetime import datetime

from django.core.cache import cache

logger = logging.getLogger(__name__)

LAST_TICK_KEY = "sending:last-tick"
LAST_TICK_SECONDS = 7 * 24 * 3600  # a note a week old says enough: the tick stopped


def tick_record(*, started_at: datetime, duration: float, summary: dict[str, int]) -> None:
    note = {"at": started_at.isoformat(), "duration": round(duration, 3), "summary": dict(summary)}
    try:
        cache.set(LAST_TICK_KEY, note, LAST_TICK_SECONDS)
    except Exception:  # Redis restarting: the tick did its work all the same
        logger.warning("the cache did not answer; the last tick's note is not kept", exc_info=True)


def tick_last() -> dict | None:
    """{"at": datetime, "duration": seconds, "summary": {step: count}} of the last tick, or None."""
    try:
        note = cache.get(LAST_TICK_KEY)
    except Exception:
        logger.warning("the cache did not answer; the last tick's note is not read", exc_info=True)
        return None
    if not note:
        return None
    return {**note, "at": datetime.fromisoformat(note["at"])}
