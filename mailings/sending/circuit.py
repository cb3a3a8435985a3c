"""The providers' circuit breakers, one per provider, shared by every worker process through the cache (Redis).

Closed: send. A 401/403, or a run of `threshold` transient failures in a row,
opens it for a cool-down: nobody sends, messages wait without using up their
attempts. When the cool-down is over (probing, the textbook's half-open), one
worker (whoever takes the probe key) sends a single message: success closes the
circuit, failure opens it again for twice as long (up to `max_cooldown`).
Operators see the state and its reason.

Each provider has its own circuit (keys by its name; `default`'s are the plain
`STATE_KEY` and `PROBE_KEY`): one provider down holds its messages while the
others send, and routing fails them over (mailings/routing.py). `Mode` and
`circuit_mode()` are the one place that says which state a circuit is in;
dispatch, the provider status of the API and the admin, and /metrics all ask
them, and show the states as `Mode` spells them. `Circuits` is a process's
handles, one per provider.

The cache failing (Redis restarting) must not fail a batch half-sent: every cache
call here falls back to the last state this process knew.
"""

import logging
import os
import time
from dataclasses import dataclass
from enum import StrEnum

from django.core.cache import cache

from mailings.providers import DEFAULT_PROVIDER

logger = logging.getLogger(__name__)

STATE_KEY = "provider-circuit"
PROBE_KEY = "provider-circuit-probe"


def state_key(provider: str) -> str:
    return STATE_KEY if provider == DEFAULT_PROVIDER else f"{STATE_KEY}:{provider}"


def probe_key(provider: str) -> str:
    return PROBE_KEY if provider == DEFAULT_PROVIDER else f"{PROBE_KEY}:{provider}"


class Mode(StrEnum):
    """The circuit's states, spelled as the API and /metrics show them (a contract)."""

    CLOSED = "closed"  # send
    OPEN = "open"  # hold everything
    PROBING = "probing"  # the cool-down is over: whoever takes the probe sends one message


@dataclass(frozen=True)
class CircuitSettings:
    threshold: int = 20
    cooldown: float = 5.0
    max_cooldown: float = 120.0
    refresh: float = 1.0  # how stale a process's view of the shared state may be


def _cache_call(method: str, *args, default=None, **kwargs):
    try:
        return getattr(cache, method)(*args, **kwargs)
    except Exception:  # Redis down or restarting: carry on with what we know
        logger.warning("the cache did not answer (%s); using the last known circuit state", method, exc_info=True)
        return default


def circuit_state(provider: str = DEFAULT_PROVIDER) -> dict | None:
    """A provider's shared state: None when closed, else {reason, opened_at, until, cooldown}."""
    return _cache_call("get", state_key(provider))


def circuit_states(names: list[str]) -> dict[str, dict | None]:
    """Several providers' shared states in one round trip (dispatch, the admin, /metrics)."""
    found = _cache_call("get_many", [state_key(name) for name in names], default={}) or {}
    return {name: found.get(state_key(name)) for name in names}


def circuit_mode(state: dict | None, *, now: float | None = None) -> Mode:
    """Which state the shared circuit is in, from its stored state (`circuit_state()`) at `now`
    (a time.time() value; the current time when not given)."""
    if state is None:
        return Mode.CLOSED
    if (time.time() if now is None else now) < state["until"]:
        return Mode.OPEN
    return Mode.PROBING


class Circuit:
    """One process's handle on one provider's shared circuit."""

    def __init__(self, settings: CircuitSettings, provider: str = DEFAULT_PROVIDER):
        self.settings = settings
        self.provider = provider
        self._state_key, self._probe_key = state_key(provider), probe_key(provider)
        self._state: dict | None = None
        self._read_at = float("-inf")
        self._run = 0  # transient failures in a row seen by this process
        self._probe_until = 0.0  # while our probe is out (monotonic); 0 when none

    @property
    def _probing(self) -> bool:
        return time.monotonic() < self._probe_until

    def _current(self) -> dict | None:
        now = time.monotonic()
        if now - self._read_at >= self.settings.refresh:
            self._state = _cache_call("get", self._state_key, default=self._state)
            self._read_at = now
        return self._state

    def mode(self) -> Mode:
        """The shared circuit's state as this process sees it: while its own probe is out, open."""
        mode = circuit_mode(self._current())
        if mode is Mode.PROBING and self._probing:
            return Mode.OPEN
        return mode

    def acquire_probe(self) -> bool:
        """Take the one probe of a circuit whose cool-down is over; the caller must send a message and report it."""
        if self._probing or self.mode() is not Mode.PROBING:
            return False
        ttl = max(self.settings.cooldown, 30)
        if _cache_call("add", self._probe_key, os.getpid(), timeout=ttl, default=False):
            self._probe_until = time.monotonic() + ttl
            return True
        return False

    def release_probe(self) -> None:
        """The probe ended without news of the provider (e.g. the message was held): let another try."""
        if self._probing:
            self._probe_until = 0.0
            _cache_call("delete", self._probe_key)

    def held_until(self) -> float:
        """When to look again while the circuit is open (a time.time() value)."""
        state = self._current()
        return state["until"] if state else time.time()

    def record_success(self) -> None:
        """A message went through. Only the probe closes an open circuit: a late answer to a
        request sent before it opened says nothing about the provider now."""
        self._run = 0
        if self._probing:
            _cache_call("delete_many", [self._state_key, self._probe_key])
            logger.warning("provider circuit closed: the provider answers again", extra={"provider": self.provider})
            self._state, self._probe_until = None, 0.0
            self._read_at = time.monotonic()

    def record_failure(self, reason: str) -> None:
        self._run += 1
        if self._probing:
            self.open(f"probe failed: {reason}")
        elif self._run >= self.settings.threshold:
            self.open(f"{self._run} failures in a row, last: {reason}")

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
        _cache_call("set", self._state_key, state, timeout=None)
        _cache_call("delete", self._probe_key)
        self._state, self._read_at, self._probe_until, self._run = state, time.monotonic(), 0.0, 0
        logger.error("provider circuit open for %.0fs: %s", cooldown, reason, extra={"provider": self.provider})


class Circuits:
    """A process's handles on every provider's circuit, made as each provider is first named."""

    def __init__(self, settings: CircuitSettings, *given: Circuit):
        self.settings = settings
        self._by_provider = {circuit.provider: circuit for circuit in given}

    def get(self, provider: str) -> Circuit:
        circuit = self._by_provider.get(provider)
        if circuit is None:
            circuit = self._by_provider[provider] = Circuit(self.settings, provider)
        return circuit
