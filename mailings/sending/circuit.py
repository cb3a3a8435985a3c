"""The provider circuit breaker, shared by every worker process through the cache (Redis).

Closed: send. A 401/403, or a run of `threshold` transient failures in a row,
opens it for a cool-down: nobody sends, messages wait without using up their
attempts. When the cool-down is over, one worker (whoever takes the probe key)
sends a single message: success closes the circuit, failure opens it again for
twice as long (up to `max_cooldown`). Operators see the state and its reason.
"""

import logging
import os
import time
from dataclasses import dataclass
from enum import StrEnum

from django.core.cache import cache

logger = logging.getLogger(__name__)

STATE_KEY = "provider-circuit"
PROBE_KEY = "provider-circuit-probe"


class Mode(StrEnum):
    CLOSED = "closed"  # send
    OPEN = "open"  # hold everything
    PROBE = "probe"  # this caller may send one message to test the provider


@dataclass(frozen=True)
class CircuitSettings:
    threshold: int = 20
    cooldown: float = 5.0
    max_cooldown: float = 120.0
    refresh: float = 1.0  # how stale a process's view of the shared state may be


def circuit_state() -> dict | None:
    """The shared state for operators: None when closed, else {reason, opened_at, until, cooldown}."""
    return cache.get(STATE_KEY)


class Circuit:
    """One process's handle on the shared circuit."""

    def __init__(self, settings: CircuitSettings):
        self.settings = settings
        self._state: dict | None = None
        self._read_at = float("-inf")
        self._run = 0  # transient failures in a row seen by this process
        self._probing = False

    def _current(self) -> dict | None:
        now = time.monotonic()
        if now - self._read_at >= self.settings.refresh:
            self._state = cache.get(STATE_KEY)
            self._read_at = now
        return self._state

    def mode(self) -> Mode:
        state = self._current()
        if state is None:
            return Mode.CLOSED
        if time.time() < state["until"]:
            return Mode.OPEN
        if self._probing:
            return Mode.OPEN  # our probe is out; wait for its answer
        if cache.add(PROBE_KEY, os.getpid(), timeout=max(self.settings.cooldown, 30)):
            self._probing = True
            return Mode.PROBE
        return Mode.OPEN

    def held_until(self) -> float:
        """When to look again while the circuit is open (a time.time() value)."""
        state = self._current()
        return state["until"] if state else time.time()

    def record_success(self) -> None:
        self._run = 0
        if self._probing or self._current() is not None:
            cache.delete_many([STATE_KEY, PROBE_KEY])
            if self._state is not None:
                logger.warning("provider circuit closed: the provider answers again")
            self._state, self._probing = None, False
            self._read_at = time.monotonic()

    def record_failure(self, reason: str) -> None:
        self._run += 1
        if self._probing or self._run >= self.settings.threshold:
            self.open(
                f"{self._run} failures in a row, last: {reason}" if not self._probing else f"probe failed: {reason}"
            )

    def record_refusal(self, reason: str) -> None:
        self.open(reason)

    def open(self, reason: str) -> None:
        previous = self._current()
        if previous is not None and time.time() < previous["until"] and not self._probing:
            return  # already open: another process got there first
        cooldown = self.settings.cooldown
        if previous is not None:
            cooldown = min(self.settings.max_cooldown, previous["cooldown"] * 2)
        now = time.time()
        state = {"reason": reason, "opened_at": now, "until": now + cooldown, "cooldown": cooldown}
        cache.set(STATE_KEY, state, timeout=None)
        cache.delete(PROBE_KEY)
        self._state, self._read_at, self._probing, self._run = state, time.monotonic(), False, 0
        logger.error("provider circuit open for %.0fs: %s", cooldown, reason)
