"""What happens to each message of a batch: checked right before its request, sent, decided.

Every request goes out right after checking, for that message, that the mailing is
still running and not past its end (the request's own timeout ends at the end too),
that the client's window is open, that its provider's circuit is closed (each row carries
its provider, decided in the claim), and then after waiting for that provider's rate
(`limiter`: a slot too late for the batch holds it). Anything that cannot go now is held,
without using an attempt. The provider's answer becomes a `Decision` (sent, retry after a
backoff, fail, hold, expire, cancel); the recorder writes it, the sender nothing.
"""

import asyncio
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from mailings import segments
from mailings.gateway import Gateway, Outcome
from mailings.metrics import RequestTally
from mailings.models import Mailing
from mailings.placeholders import MissingValue, Template, parse_or_literal
from mailings.sending import request_log
from mailings.sending.circuit import Circuit, Circuits, Mode
from mailings.sending.config import SendingConfig
from mailings.sending.decisions import END_MARGIN_SECONDS, Action, Decision, Row, at, decide, held_until
from mailings.sending.limiter import Held
from mailings.sending.liveness import Fence
from mailings.sending.pacing import Pacer
from mailings.sending.runtime import db_thread, process_limiter
from mailings.sending.windows import next_opening, window_open

logger = logging.getLogger(__name__)

# How often a running batch re-reads its mailing (pause, cancel, a new end).
MAILING_REFRESH_SECONDS = 0.5


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
    def __init__(
        self,
        *,
        mailing_id: int,
        config: SendingConfig,
        circuits: Circuits | Circuit,
        rng: random.Random | None = None,
        fence: Fence | None = None,
        slots: Pacer | None = None,
    ):
        self.mailing_id = mailing_id
        self.fence = fence  # lost: declared dead (say it was paused), another worker may have its rows
        self.slots = slots  # what a request holds while on the wire; else SENDING_CONCURRENCY of them
        self.config = config
        self.circuits = circuits if isinstance(circuits, Circuits) else Circuits(config.circuit, circuits)
        self.requests = RequestTally()  # for /metrics, added to the shared store once per batch
        self.rng = rng or random.Random()
        self.max_parts = settings.MAILING_MAX_PARTS
        self.limiter = process_limiter()  # the providers' rates, shared by every worker (Redis)
        self.rates: dict[str, float] = {}  # each provider's parts per second, read once a batch
        # Past this, no request starts and none is still open: the lease must never run out while
        # a request is on the wire, or the reaper would hand the message to another worker.
        gateway = config.gateway
        self.stop_at = time.time() + config.lease - gateway.connect_timeout - gateway.read_timeout - 5

    async def send(
        self,
        rows: list[Row],
        view: MailingView,
        gateways: Mapping[str, Gateway] | None = None,
        recorder: SentSink | None = None,
    ) -> list[Decision]:
        """`gateways`: a session per enabled provider, by name (opened here for this call when not given)."""
        if gateways is None:
            names = [name for name in sorted(self.config.enabled) if self.config.gateway_for(name)]
            own = {name: Gateway(self.config.gateway_for(name)) for name in names}
            try:
                for gateway in own.values():
                    await gateway.__aenter__()
                return await self.send(rows, view, own, recorder)
            finally:
                for gateway in own.values():
                    await gateway.__aexit__(None, None, None)

        outstanding = len(rows)

        async def one(row: Row, probing: bool = False) -> Decision:
            nonlocal outstanding
            decision = await self._one(row, view, gateways.get(row.provider), probing)
            outstanding -= 1
            if recorder is not None and decision.action is Action.SENT:
                await recorder.sent(row.id, decision.parts, last=outstanding == 0)
            return decision

        decisions: list[Decision] = []
        probes = self._probes(rows)
        if probes:
            # A provider's cool-down is over and this process tests it: its one message first.
            try:
                decisions.extend(await asyncio.gather(*(one(row, probing=True) for row in probes)))
            finally:
                for row in probes:  # a no-op once the answer closed or reopened the circuit
                    self.circuits.get(row.provider).release_probe()
            probed = {row.id for row in probes}
            rows = [row for row in rows if row.id not in probed]
        # `concurrency` lanes, each taking the next row when its last one is done (recorded, if
        # sent): a task per lane, not one per row waiting on a semaphore, which cost the worker
        # CPU per message in task switches and wake-ups. The pacer, when on, keeps fewer of them
        # on the wire while answers wait to be recorded.
        waiting = iter(rows)
        slots = self.slots

        async def lane() -> None:
            for row in waiting:
                if slots is None:
                    decisions.append(await one(row))
                else:
                    async with slots:
                        decisions.append(await one(row))

        await asyncio.gather(*(lane() for _ in range(min(self.config.gateway.concurrency, len(rows)))))
        request_log.batch_answered(mailing_id=self.mailing_id, tally=self.requests)
        return decisions

    def _probes(self, rows: list[Row]) -> list[Row]:
        """The rows that test their provider: the claim's (`Row.probe`), and the first row of a
        provider whose cool-down ended since and whose probe this process takes now."""
        probes = [row for row in rows if row.probe]
        seen = {row.provider for row in probes}
        for row in rows:
            if row.provider not in seen:
                seen.add(row.provider)
                circuit = self.circuits.get(row.provider)
                if circuit.mode() is Mode.PROBING and circuit.acquire_probe():
                    probes.append(row)
        return probes

    async def _one(self, row: Row, view: MailingView, gateway: Gateway | None, probing: bool = False) -> Decision:
        """Never raises: whatever goes wrong, the batch records every other message."""
        try:
            return await self._checked_send(row, view, gateway, probing)
        except Held as held:  # the provider's rate limit has no slot for it in time
            return Decision(row, Action.HOLD, held.reason, at(held.retry_at))
        except Exception as exc:
            logger.exception("could not send", extra={"mailing_id": self.mailing_id, "message_id": row.id})
            return Decision(row, Action.HOLD, f"not sent: {type(exc).__name__}", timezone.now() + timedelta(seconds=5))

    def _stopped(self, row: Row, mailing: MailingSnapshot) -> Decision | None:
        if mailing.status == Mailing.Status.CANCELLED:
            return Decision(row, Action.CANCEL, "the mailing was cancelled")
        if mailing.status != Mailing.Status.RUNNING:
            return Decision(row, Action.HOLD, f"the mailing is {mailing.status}", timezone.now())
        now_ts = time.time()
        if now_ts >= mailing.end_ts - END_MARGIN_SECONDS:
            return Decision(row, Action.EXPIRE, "the mailing ended before the message could be sent")
        if now_ts >= self.stop_at:
            return Decision(row, Action.HOLD, "the batch ran out of time", timezone.now())
        if self.fence is not None and self.fence.lost():
            return Decision(row, Action.HOLD, "the worker process lost its heartbeat", timezone.now())
        return None

    async def _checked_send(self, row: Row, view: MailingView, gateway: Gateway | None, probing: bool) -> Decision:
        mailing = await view.current()
        if stopped := self._stopped(row, mailing):
            return stopped
        if mailing.window_start is not None:  # the clock as a datetime only for a window to compare it with
            now = at(time.time())
            if not window_open(at=now, zone_name=row.zone, start=mailing.window_start, end=mailing.window_end):
                opening = next_opening(at=now, zone_name=row.zone, start=mailing.window_start)
                return Decision(row, Action.HOLD, "outside the client's sending window", opening)
        if gateway is None:
            return Decision(row, Action.HOLD, f"provider {row.provider} is not enabled", at(time.time() + 60))
        circuit = self.circuits.get(row.provider)
        if not probing and circuit.mode() is not Mode.CLOSED:
            return Decision(row, Action.HOLD, f"provider {row.provider} circuit open", held_until(row, circuit))

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
        rate = self.rates.get(row.provider)
        if rate is None:
            rate = self.rates[row.provider] = self.limiter.rate_of(row.provider)
        waited = await self.limiter.take(
            row.provider, parts, until=min(self.stop_at, mailing.end_ts), route=row.route_limit, rate=rate
        )
        if waited >= MAILING_REFRESH_SECONDS and (stopped := self._stopped(row, await view.current())):
            return stopped
        result = await gateway.send(message_id=row.id, phone=row.phone, text=text, deadline=mailing.end_ts)
        request_log.answered(mailing_id=self.mailing_id, row=row, result=result)
        self.requests.add(provider=row.provider, outcome=result.outcome.value, duration=result.duration)
        if result.outcome is not Outcome.SENT and self.fence is not None and self.fence.lost():
            # Declared dead meanwhile (a pause timed it out): no news of the provider for the circuit.
            return Decision(row, Action.HOLD, f"declared dead while sending: {result.error}", timezone.now())
        return decide(
            row, result, end_ts=mailing.end_ts, circuit=circuit, config=self.config, rng=self.rng, probing=probing,
            parts=parts,
        )  # fmt: skip

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
