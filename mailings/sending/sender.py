"""What happens to each message of a batch: checked right before its request, sent, decided.

Every request goes out right after checking, for that message, that the mailing is
still running and not past its end (the request's own timeout ends at the end too),
that the client's window is open, and that the provider circuit is closed. Anything
that cannot go now is held, without using an attempt. The provider's answer becomes a
`Decision` (sent, retry after a backoff, fail, hold, expire, cancel) that the recorder
writes; the sender itself writes nothing.
"""

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from mailings import segments
from mailings.gateway import Gateway, Outcome, SendResult
from mailings.metrics import RequestTally
from mailings.models import Mailing
from mailings.placeholders import MissingValue, Template, parse_or_literal
from mailings.sending import request_log
from mailings.sending.backoff import retry_delay
from mailings.sending.circuit import Circuit, Mode
from mailings.sending.config import SendingConfig
from mailings.sending.runtime import db_thread
from mailings.sending.windows import next_opening, window_open

logger = logging.getLogger(__name__)

# How often a running batch re-reads its mailing (pause, cancel, a new end).
MAILING_REFRESH_SECONDS = 0.5
# A request is not started this close to the mailing's end.
END_MARGIN_SECONDS = 0.05


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


@dataclass(frozen=True, slots=True)
class Decision:
    row: Row
    action: Action
    error: str = ""
    next_attempt_at: datetime | None = None
    parts: int = 0  # SMS parts of the text sent (SENT only)


@dataclass(frozen=True, slots=True)
class MailingSnapshot:
    status: str
    end_ts: float
    window_start: object
    window_end: object
    text: str
    # The text's pieces: a plain text is rendered once (`{{` is `{`), a personalised one per message.
    template: Template
    plain: str | None
    plain_parts: int  # a plain text's SMS parts, counted once here rather than per message

    @classmethod
    def read(cls, mailing_id: int) -> "MailingSnapshot":
        close_old_connections()
        mailing = Mailing.objects.only(
            "status", "end_datetime", "send_window_start", "send_window_end", "message_text"
        ).get(pk=mailing_id)
        template = parse_or_literal(mailing.message_text)
        plain = None if template.has_placeholders else template.render({})
        return cls(
            mailing.status,
            mailing.end_datetime.timestamp(),
            mailing.send_window_start,
            mailing.send_window_end,
            mailing.message_text,
            template,
            plain,
            segments.count(plain).parts if plain is not None else 0,
        )


class MailingView:
    """The batch's view of its mailing, re-read at most every MAILING_REFRESH_SECONDS."""

    def __init__(self, mailing_id: int, first: MailingSnapshot):
        self.mailing_id = mailing_id
        self.snapshot = first
        self._read_at = time.monotonic()
        self._refresh: asyncio.Future | None = None

    async def current(self) -> MailingSnapshot:
        if time.monotonic() - self._read_at >= MAILING_REFRESH_SECONDS:
            if self._refresh is None:
                loop = asyncio.get_running_loop()
                self._refresh = loop.run_in_executor(db_thread(), MailingSnapshot.read, self.mailing_id)
            refresh = self._refresh
            try:
                self.snapshot = await refresh
            except Exception:  # the database blinked: keep the last snapshot, try again shortly
                logger.warning("could not re-read the mailing", extra={"mailing_id": self.mailing_id}, exc_info=True)
            finally:
                if self._refresh is refresh:
                    self._refresh = None
                    self._read_at = time.monotonic()
        return self.snapshot


class SentSink(Protocol):
    """Where the sender reports each sent message as soon as it is known (the recorder)."""

    async def sent(self, message_id: int, last: bool = False) -> None: ...


class BatchSender:
    def __init__(self, *, mailing_id: int, config: SendingConfig, circuit: Circuit, rng: random.Random | None = None):
        self.mailing_id = mailing_id
        self.config = config
        self.circuit = circuit
        self.requests = RequestTally()  # for /metrics, added to the shared store once per batch
        self.rng = rng or random.Random()
        self.max_parts = settings.MAILING_MAX_PARTS
        # Past this, no request starts and none is still open: the lease must never run out while
        # a request is on the wire, or the reaper would hand the message to another worker.
        gateway = config.gateway
        self.stop_at = time.time() + config.lease - gateway.connect_timeout - gateway.read_timeout - 5

    async def send(
        self, rows: list[Row], view: MailingView, gateway: Gateway | None = None, recorder: SentSink | None = None
    ) -> list[Decision]:
        if gateway is None:
            async with Gateway(self.config.gateway) as own:
                return await self.send(rows, view, own, recorder)

        outstanding = len(rows)

        async def one(row: Row, probing: bool = False) -> Decision:
            nonlocal outstanding
            decision = await self._one(row, view, gateway, probing)
            outstanding -= 1
            if recorder is not None and decision.action is Action.SENT:
                await recorder.sent(row.id, decision.parts, last=outstanding == 0)
            return decision

        decisions: list[Decision] = []
        if rows and self.circuit.mode() is Mode.PROBING and self.circuit.acquire_probe():
            # The cool-down is over and this process tests the provider: one message first.
            try:
                decisions.append(await one(rows[0], probing=True))
            finally:
                self.circuit.release_probe()  # a no-op once the answer closed or reopened the circuit
            rows = rows[1:]
        # `concurrency` lanes, each taking the next row when its last one is done (recorded, if
        # sent): a task per lane, not one per row waiting on a semaphore, which cost the worker
        # CPU per message in task switches and wake-ups.
        waiting = iter(rows)

        async def lane() -> None:
            for row in waiting:
                decisions.append(await one(row))

        await asyncio.gather(*(lane() for _ in range(min(self.config.gateway.concurrency, len(rows)))))
        request_log.batch_answered(mailing_id=self.mailing_id, tally=self.requests)
        return decisions

    async def _one(self, row: Row, view: MailingView, gateway: Gateway, probing: bool = False) -> Decision:
        """Never raises: whatever goes wrong, the batch records every other message."""
        try:
            return await self._checked_send(row, view, gateway, probing)
        except Exception as exc:
            logger.exception("could not send", extra={"mailing_id": self.mailing_id, "message_id": row.id})
            return Decision(row, Action.HOLD, f"not sent: {type(exc).__name__}", timezone.now() + timedelta(seconds=5))

    async def _checked_send(self, row: Row, view: MailingView, gateway: Gateway, probing: bool) -> Decision:
        mailing = await view.current()
        if mailing.status == Mailing.Status.CANCELLED:
            return Decision(row, Action.CANCEL, "the mailing was cancelled")
        if mailing.status != Mailing.Status.RUNNING:
            return Decision(row, Action.HOLD, f"the mailing is {mailing.status}", timezone.now())
        now_ts = time.time()
        if now_ts >= mailing.end_ts - END_MARGIN_SECONDS:
            return Decision(row, Action.EXPIRE, "the mailing ended before the message could be sent")
        if now_ts >= self.stop_at:
            return Decision(row, Action.HOLD, "the batch ran out of time", timezone.now())
        if mailing.window_start is not None:  # the clock as a datetime only for a window to compare it with
            now = _at(now_ts)
            if not window_open(at=now, zone_name=row.zone, start=mailing.window_start, end=mailing.window_end):
                opening = next_opening(at=now, zone_name=row.zone, start=mailing.window_start)
                return Decision(row, Action.HOLD, "outside the client's sending window", opening)
        if not probing and self.circuit.mode() is not Mode.CLOSED:
            until = max(self.circuit.held_until(), time.time() + self.config.circuit.cooldown)
            return Decision(row, Action.HOLD, "provider circuit open", _at(until))

        text, parts = mailing.plain, mailing.plain_parts
        if text is None:
            text, refusal = self._render(row, mailing)
            if refusal is not None:
                return refusal
            parts = segments.count(text).parts
            if parts > self.max_parts:
                return Decision(
                    row,
                    Action.FAIL,
                    f"the text rendered for this client is {parts} SMS parts; at most {self.max_parts} "
                    "(MAILING_MAX_PARTS) are allowed",
                )
        result = await gateway.send(message_id=row.id, phone=row.phone, text=text, deadline=mailing.end_ts)
        request_log.answered(mailing_id=self.mailing_id, row=row, result=result)
        self.requests.add(outcome=result.outcome.value, duration=result.duration)
        return self._decide(row, result, mailing, probing, parts)

    @staticmethod
    def _render(row: Row, mailing: MailingSnapshot) -> tuple[str, Decision | None]:
        """The text for this message's client, or why none goes (no request is made)."""
        template = mailing.template
        values = row.values
        if values is None or any(name not in values for name in template.attribute_names):
            # The text changed after the claim read the client: the next claim reads what it needs.
            return "", Decision(row, Action.HOLD, "the text changed while the message was claimed", timezone.now())
        try:
            return template.render(values), None
        except MissingValue as missing:
            return "", Decision(
                row,
                Action.FAIL,
                f"not sent: the client has no attribute {missing.name} and {{{missing.name}}} has no default "
                f"(write {{{missing.name}|...}} to give one)",
            )

    def _decide(
        self, row: Row, result: SendResult, mailing: MailingSnapshot, probing: bool = False, parts: int = 0
    ) -> Decision:
        if result.outcome is Outcome.SENT:
            self.circuit.record_success()
            return Decision(row, Action.SENT, parts=parts)
        if result.outcome is Outcome.UNAUTHORIZED:
            self.circuit.record_refusal(result.error)
            return Decision(row, Action.HOLD, result.error, _at(self.circuit.held_until()))
        if result.outcome is Outcome.PERMANENT:
            self.circuit.record_success()  # the provider is up; this message is the problem
            return Decision(row, Action.FAIL, result.error)
        if time.time() >= mailing.end_ts - END_MARGIN_SECONDS:
            # Cut off by the end (the request's timeout ends there): not the provider's failure.
            return Decision(row, Action.EXPIRE, f"the mailing ended while sending ({result.error})")
        self.circuit.record_failure(result.error)
        if probing:
            # The probe asked whether the provider is back, and it is not: that is news of the
            # provider, not of this message. Counting it would fail a message probed a few times
            # during a long outage although every other message is being held.
            return Decision(row, Action.HOLD, f"probe failed: {result.error}", _at(self.circuit.held_until()))
        attempt = row.attempts + 1
        if attempt >= self.config.max_attempts:
            return Decision(row, Action.FAIL, f"gave up after {attempt} attempts: {result.error}")
        delay = retry_delay(attempt=attempt, base=self.config.backoff_base, cap=self.config.backoff_cap, rng=self.rng)
        return Decision(row, Action.RETRY, result.error, timezone.now() + delay)


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)
