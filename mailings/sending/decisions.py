"""What a batch decides for each message, and the rule that turns a provider's answer into it.

The rule, per outcome (docs/sending.md, "Routing and failover"):

- 200 with code 0: sent, and the provider is up;
- 401/403: the provider refuses us: its circuit opens, the message is held (no attempt used);
- another 4xx: this message will never go (the provider is up);
- 5xx, 429, a refused connection, a connect timeout: not accepted, for sure: retried after a
  backoff, and free to go to another provider of its route while this one's circuit is open;
- a timeout after connecting, a connection dropped mid-request, a 200 without code 0: we cannot
  know whether the provider took it. Retried with the same msgId, and *pinned* to this provider
  for good (`Decision.pinned`, written to `Message.provider_pinned`): another provider sending
  it too would be a second copy that no msgId deduplicates.
"""

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from django.utils import timezone

from mailings.gateway import Outcome, SendResult
from mailings.sending.backoff import retry_delay
from mailings.sending.circuit import Circuit
from mailings.sending.config import SendingConfig

# A request is not started this close to the mailing's end.
END_MARGIN_SECONDS = 0.05
# A held message that another provider of its route may take is claimed again this soon.
FAILOVER_SECONDS = 1.0


class Action(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # attempted, failed for now: back to pending after a backoff
    FAIL = "fail"  # attempted, will never go (permanent error, or attempts used up)
    HOLD = "hold"  # not attempted: back to pending at `next_attempt_at`
    EXPIRE = "expire"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    phone: str
    client_id: int | None
    attempts: int
    zone: str
    # What the text's placeholders need of the client (read with the zone), None for a plain text.
    values: dict | None = None
    provider: str = "default"  # who is asked (mailings/sending/assign.py)
    movable: bool = False  # another provider of its route may take it if this one's circuit opens
    probe: bool = False  # it tests its provider, whose cool-down is over (this process holds the probe)
    # Its route row's own limit on its provider (limiter key, SMS parts per second), or None.
    route_limit: tuple[str, float] | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    row: Row
    action: Action
    error: str = ""
    next_attempt_at: datetime | None = None
    parts: int = 0  # SMS parts of the text sent (SENT only)
    pinned: bool = False  # its request may have reached the provider: it stays with it for good


def at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def held_until(row: Row, circuit: Circuit) -> datetime:
    """When a message held by its provider's open circuit is due again: soon if another provider
    may take it (its next claim fails it over), else when the circuit is probed again."""
    if row.movable:
        return at(time.time() + FAILOVER_SECONDS)
    return at(max(circuit.held_until(), time.time() + circuit.settings.cooldown))


def decide(
    row: Row,
    result: SendResult,
    *,
    end_ts: float,
    circuit: Circuit,
    config: SendingConfig,
    rng: random.Random,
    probing: bool = False,
    parts: int = 0,
) -> Decision:
    """The provider's answer as a decision, told to the provider's circuit (`parts`: of the text sent)."""
    if result.outcome is Outcome.SENT:
        circuit.record_success()
        return Decision(row, Action.SENT, parts=parts)
    if result.outcome is Outcome.UNAUTHORIZED:
        circuit.record_refusal(result.error)
        return Decision(row, Action.HOLD, result.error, held_until(row, circuit))
    if result.outcome is Outcome.PERMANENT:
        circuit.record_success()  # the provider is up; this message is the problem
        return Decision(row, Action.FAIL, result.error)
    pinned = result.ambiguous  # it may have been taken: it must not go to another provider
    if time.time() >= end_ts - END_MARGIN_SECONDS:
        # Cut off by the end (the request's timeout ends there): not the provider's failure.
        return Decision(row, Action.EXPIRE, f"the mailing ended while sending ({result.error})", pinned=pinned)
    circuit.record_failure(result.error)
    if probing:
        # The probe asked whether the provider is back, and it is not: that is news of the
        # provider, not of this message. Counting it would fail a message probed a few times
        # during a long outage although every other message is being held.
        until = at(circuit.held_until()) if pinned else held_until(row, circuit)
        return Decision(row, Action.HOLD, f"probe failed: {result.error}", until, pinned=pinned)
    attempt = row.attempts + 1
    if attempt >= config.max_attempts:
        return Decision(row, Action.FAIL, f"gave up after {attempt} attempts: {result.error}", pinned=pinned)
    delay = retry_delay(attempt=attempt, base=config.backoff_base, cap=config.backoff_cap, rng=rng)
    return Decision(row, Action.RETRY, result.error, timezone.now() + delay, pinned=pinned)
