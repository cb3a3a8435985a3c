"""What a worker does with one batch: claim, send concurrently, record in bulk.

- **Claim**: one conditional UPDATE flips the batch's rows from pending to sending,
  only if they still carry the batch's token and the mailing is running; a lease
  says when the reaper may take them back if this worker dies.
- **Send**: every request goes out right after checking, for that message, that
  the mailing is still running and not past its end (the request's own timeout
  ends at the end too), that the client's window is open, and that the provider
  circuit is closed. Anything that cannot go now is held, without using an attempt.
- **Record**: sent rows are written while the batch goes on (whenever half the
  concurrency's answers wait, or after 50 ms), so that a worker killed mid-batch
  has left unrecorded (and to be sent again) no more than its requests in flight;
  at the end, one UPDATE for the sent rows still unwritten, one for all the others.
"""

import asyncio
import atexit
import contextlib
import logging
import os
import random
import secrets
import time
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from django.db import InterfaceError, OperationalError, close_old_connections, connection, models, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from mailings.gateway import Gateway, GatewayConfig, Outcome, SendResult
from mailings.metrics import RequestTally, record_provider_requests
from mailings.models import Client, Mailing, Message
from mailings.sending.backoff import retry_delay
from mailings.sending.circuit import Circuit, Mode
from mailings.sending.config import SendingConfig
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


@dataclass(frozen=True, slots=True)
class Decision:
    row: Row
    action: Action
    error: str = ""
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MailingSnapshot:
    status: str
    end_ts: float
    window_start: object
    window_end: object
    text: str

    @classmethod
    def read(cls, mailing_id: int) -> "MailingSnapshot":
        close_old_connections()
        mailing = Mailing.objects.only(
            "status", "end_datetime", "send_window_start", "send_window_end", "message_text"
        ).get(pk=mailing_id)
        return cls(
            mailing.status,
            mailing.end_datetime.timestamp(),
            mailing.send_window_start,
            mailing.send_window_end,
            mailing.message_text,
        )


class _ProcessRuntime:
    """This worker process's event loop and provider session, kept across batches.

    Reusing them keeps the provider's connections alive between batches instead of
    opening hundreds of new ones for each.
    """

    def __init__(self, config: GatewayConfig):
        self.pid = os.getpid()
        self.config = config
        self.loop = asyncio.new_event_loop()
        self.gateway = Gateway(config)
        self.loop.run_until_complete(self.gateway.__aenter__())

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self.gateway.__aexit__(None, None, None))
        finally:
            self.loop.close()


_runtime: _ProcessRuntime | None = None


def _runtime_for(config: GatewayConfig) -> _ProcessRuntime:
    global _runtime
    if _runtime is not None and (_runtime.pid != os.getpid() or _runtime.config != config):
        _discard_runtime()
    if _runtime is None:
        _runtime = _ProcessRuntime(config)
        atexit.register(_discard_runtime)
    return _runtime


def _discard_runtime() -> None:
    global _runtime
    runtime, _runtime = _runtime, None
    if runtime is not None and runtime.pid == os.getpid():
        with contextlib.suppress(Exception):
            runtime.close()


_executor: tuple[int, ThreadPoolExecutor] | None = None


def _db_thread() -> ThreadPoolExecutor:
    """One thread per worker process for the database reads made while the event loop runs."""
    global _executor
    if _executor is None or _executor[0] != os.getpid():  # a forked child gets its own
        _executor = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-db"))
    return _executor[1]


_circuit: Circuit | None = None


def process_circuit(config: SendingConfig) -> Circuit:
    """One circuit handle per worker process: it remembers this process's run of failures."""
    global _circuit
    if _circuit is None:
        _circuit = Circuit(config.circuit)
    return _circuit


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
                self._refresh = loop.run_in_executor(_db_thread(), MailingSnapshot.read, self.mailing_id)
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


def claim(*, mailing_id: int, message_ids: list[int], token: int, lease: float) -> tuple[list[Row], int]:
    """Flip the batch's rows to sending under a fresh token only this call knows.

    Returns the rows this call flipped (none for a duplicate or stale task) and the
    new token, which the record step must present.
    """
    now = timezone.now()
    claim_token = secrets.randbits(63)
    if not Mailing.objects.filter(pk=mailing_id, status=Mailing.Status.RUNNING, end_datetime__gt=now).exists():
        return [], claim_token  # paused, cancelled or over: the rows wait (or expire) where they are
    with transaction.atomic():
        # One table, no join: under concurrent claims PostgreSQL re-checks token and status
        # on the row version it finally locks, so only one claim can flip a row.
        Message.objects.filter(
            id__any=message_ids, mailing_id=mailing_id, token=token, status=Message.Status.PENDING
        ).update(status=Message.Status.SENDING, token=claim_token, lease_expires_at=now + timedelta(seconds=lease))
        claimed = list(
            Message.objects.filter(id__any=message_ids, token=claim_token, status=Message.Status.SENDING).values_list(
                "id", "phone_number", "client_id", "attempts"
            )
        )
    client_ids = [client_id for _, _, client_id, _ in claimed if client_id is not None]
    zones = dict(Client.objects.filter(id__any=client_ids).values_list("id", "timezone")) if client_ids else {}
    rows = [
        Row(i, phone, client_id, attempts, zones.get(client_id, "UTC")) for i, phone, client_id, attempts in claimed
    ]
    return rows, claim_token


# How long a sent message's answer may wait to be written together with others, when fewer
# than half the batch's concurrency are waiting. Its request keeps its concurrency slot until
# then (see SentRecorder).
RECORD_SENT_SECONDS = 0.05


class SentRecorder:
    """Writes the batch's sent messages while the batch goes on, a few at a time.

    Were they written only when the whole batch is done, a worker killed mid-batch would
    leave every message it had already sent unrecorded, and all of them would go a second
    time once its lease ran out. A request keeps its concurrency slot until its `sent` is
    written, so what a killed worker leaves sent-but-unrecorded is never more than its
    requests in flight. A write goes when `enough` answers wait (under load: few, large
    writes) or after `every` seconds (a slow trickle does not hold its slots long).
    """

    def __init__(self, token: int, every: float = RECORD_SENT_SECONDS, enough: int = 100):
        self.token = token
        self.every = every
        self.enough = max(1, enough)
        self.recorded: set[int] = set()
        self._waiting: list[tuple[int, asyncio.Future]] = []
        self._full = asyncio.Event()
        self._writer: asyncio.Task | None = None

    async def sent(self, message_id: int, last: bool = False) -> None:
        """Returns once the message is recorded as sent (or the write failed: the batch's record retries it).

        `last`: no other answer of the batch is to come, so there is nothing to wait for.
        """
        written = asyncio.get_running_loop().create_future()
        self._waiting.append((message_id, written))
        if last or len(self._waiting) >= self.enough:
            self._full.set()
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._write_soon())
        await written

    async def _write_soon(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                if len(self._waiting) < self.enough:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._full.wait(), self.every)
                self._full.clear()
                waiting, self._waiting = self._waiting, []
                ids = [message_id for message_id, _ in waiting]
                try:
                    await loop.run_in_executor(_db_thread(), _record_sent, ids, self.token)
                    self.recorded.update(ids)
                except Exception:  # the database blinked: the batch's own record writes them, with retries
                    logger.warning("could not record sent messages yet", exc_info=True)
                for _, written in waiting:
                    if not written.done():
                        written.set_result(None)
        finally:
            self._writer = None


def _record_sent(message_ids: list[int], token: int) -> None:
    # The batch's database thread keeps its connection between these writes (many a second):
    # opening one each time would cost more than the write. A broken one is dropped here and
    # MailingSnapshot.read, in the same thread, applies CONN_MAX_AGE.
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Sending waits for these commits: do not make it wait for the disk as well. The
                # write is visible at once; only a crash of PostgreSQL itself could lose the last
                # fraction of a second of them, and those messages would go again.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            _mark_sent(message_ids, token, timezone.now())
    except (OperationalError, InterfaceError):
        connection.close()
        raise


class BatchSender:
    def __init__(self, *, mailing_id: int, config: SendingConfig, circuit: Circuit, rng: random.Random | None = None):
        self.mailing_id = mailing_id
        self.config = config
        self.circuit = circuit
        self.requests = RequestTally()  # for /metrics, added to the shared store once per batch
        self.rng = rng or random.Random()
        # Past this, no request starts and none is still open: the lease must never run out while
        # a request is on the wire, or the reaper would hand the message to another worker.
        gateway = config.gateway
        self.stop_at = time.time() + config.lease - gateway.connect_timeout - gateway.read_timeout - 5

    async def send(
        self, rows: list[Row], view: MailingView, gateway: Gateway | None = None, recorder: SentRecorder | None = None
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
                await recorder.sent(row.id, last=outstanding == 0)
            return decision

        decisions: list[Decision] = []
        if rows and self.circuit.mode() is Mode.HALF_OPEN and self.circuit.acquire_probe():
            # The cool-down is over and this process tests the provider: one message first.
            try:
                decisions.append(await one(rows[0], probing=True))
            finally:
                self.circuit.release_probe()  # a no-op once the answer closed or reopened the circuit
            rows = rows[1:]
        semaphore = asyncio.Semaphore(self.config.gateway.concurrency)

        async def bounded(row: Row) -> Decision:
            async with semaphore:
                return await one(row)

        decisions.extend(await asyncio.gather(*(bounded(row) for row in rows)))
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
        if time.time() >= mailing.end_ts - END_MARGIN_SECONDS:
            return Decision(row, Action.EXPIRE, "the mailing ended before the message could be sent")
        if time.time() >= self.stop_at:
            return Decision(row, Action.HOLD, "the batch ran out of time", timezone.now())
        now = timezone.now()
        if not window_open(at=now, zone_name=row.zone, start=mailing.window_start, end=mailing.window_end):
            opening = next_opening(at=now, zone_name=row.zone, start=mailing.window_start)
            return Decision(row, Action.HOLD, "outside the client's sending window", opening)
        if not probing and self.circuit.mode() is not Mode.CLOSED:
            until = max(self.circuit.held_until(), time.time() + self.config.circuit.cooldown)
            return Decision(row, Action.HOLD, "provider circuit open", _at(until))

        result = await gateway.send(message_id=row.id, phone=row.phone, text=mailing.text, deadline=mailing.end_ts)
        self._log(row, result)
        self.requests.add(outcome=result.outcome.value, duration=result.duration)
        return self._decide(row, result, mailing, probing)

    def _decide(self, row: Row, result: SendResult, mailing: MailingSnapshot, probing: bool = False) -> Decision:
        if result.outcome is Outcome.SENT:
            self.circuit.record_success()
            return Decision(row, Action.SENT)
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

    def _log(self, row: Row, result: SendResult) -> None:
        logger.info(
            "provider answered",
            extra={
                "mailing_id": self.mailing_id,
                "message_id": row.id,
                "client_id": row.client_id,
                "status": result.status,
                "outcome": result.outcome.value,
                "duration_ms": round(result.duration * 1000, 1),
                "attempt": row.attempts + 1,
                "error": result.error or None,
            },
        )


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


_STATUS_BY_ACTION = {
    Action.SENT: Message.Status.SENT,
    Action.RETRY: Message.Status.PENDING,
    Action.FAIL: Message.Status.FAILED,
    Action.HOLD: Message.Status.PENDING,
    Action.EXPIRE: Message.Status.EXPIRED,
    Action.CANCEL: Message.Status.CANCELLED,
}
_ATTEMPTED = {Action.SENT, Action.RETRY, Action.FAIL}


def record(
    *, decisions: list[Decision], token: int, deadline: float | None = None, recorded: Collection[int] = ()
) -> dict[str, int]:
    """Write the batch's outcomes: one UPDATE for the sent rows, one for the rest.

    `recorded`: sent messages already written while the batch went on. While the database
    is away it tries again, up to `deadline` (the lease's end): losing the record of a sent
    message would mean sending it again.
    """
    while True:
        try:
            _write([d for d in decisions if d.action is not Action.SENT or d.row.id not in recorded], token)
            break
        except (OperationalError, InterfaceError):
            if deadline is None or time.time() + 2 > deadline:
                raise
            logger.warning("could not record a batch; trying again", exc_info=True)
            connection.close()
            time.sleep(1)
    counts: dict[str, int] = {}
    for decision in decisions:
        counts[decision.action.value] = counts.get(decision.action.value, 0) + 1
    return counts


def _write(decisions: list[Decision], token: int) -> None:
    now = timezone.now()
    sent = [d.row.id for d in decisions if d.action is Action.SENT]
    others = [d for d in decisions if d.action is not Action.SENT]
    owned = Q(token=token, status=Message.Status.SENDING)
    with transaction.atomic():
        if sent:
            _mark_sent(sent, token, now)
        if others:

            def case(values: dict[int, object], field: models.Field) -> Case:
                return Case(*(When(id=i, then=Value(v)) for i, v in values.items()), output_field=field)

            Message.objects.filter(owned, id__any=[d.row.id for d in others]).update(
                status=case({d.row.id: _STATUS_BY_ACTION[d.action].value for d in others}, models.CharField()),
                attempts=case(
                    {d.row.id: d.row.attempts + (d.action in _ATTEMPTED) for d in others},
                    models.PositiveSmallIntegerField(),
                ),
                last_error=case({d.row.id: d.error[:1000] for d in others}, models.TextField()),
                next_attempt_at=case({d.row.id: d.next_attempt_at or now for d in others}, models.DateTimeField()),
                token=None,
                lease_expires_at=None,
            )
            # A message whose client was deleted while it was out has nobody to wait for.
            waiting = [d.row.id for d in others if _STATUS_BY_ACTION[d.action] == Message.Status.PENDING]
            if waiting:
                Message.objects.filter(id__any=waiting, status=Message.Status.PENDING, client__isnull=True).update(
                    status=Message.Status.CANCELLED, last_error="client deleted"
                )


def _mark_sent(message_ids: list[int], token: int, now: datetime) -> None:
    # Also a row the reaper took back meanwhile: it was sent, it must not go again.
    Message.objects.filter(
        Q(token=token, status=Message.Status.SENDING) | Q(status=Message.Status.PENDING), id__any=message_ids
    ).update(
        status=Message.Status.SENT,
        sent_at=now,
        attempts=F("attempts") + 1,
        last_error="",
        token=None,
        lease_expires_at=None,
    )


def batch_send(*, mailing_id: int, message_ids: list[int], token: int, config: SendingConfig, circuit: Circuit) -> dict:
    """Claim, send and record one batch; returns counts per action."""
    rows, claim_token = claim(mailing_id=mailing_id, message_ids=message_ids, token=token, lease=config.lease)
    lease_end = time.time() + config.lease
    if not rows:
        return {}
    view = MailingView(mailing_id, MailingSnapshot.read(mailing_id))
    started = time.perf_counter()
    runtime = _runtime_for(config.gateway)
    sender = BatchSender(mailing_id=mailing_id, config=config, circuit=circuit)
    recorder = SentRecorder(claim_token, enough=config.gateway.concurrency // 2)
    try:
        decisions = runtime.loop.run_until_complete(sender.send(rows, view, runtime.gateway, recorder))
    except BaseException:
        _discard_runtime()  # e.g. a time limit hit mid-batch: start the next batch on a clean loop
        raise
    counts = record(decisions=decisions, token=claim_token, deadline=lease_end, recorded=recorder.recorded)
    record_provider_requests(sender.requests)
    logger.info(
        "batch done",
        extra={
            "mailing_id": mailing_id,
            "batch": claim_token,
            "count": len(rows),
            "duration_ms": round((time.perf_counter() - started) * 1000),
            "outcome": " ".join(f"{k}:{v}" for k, v in sorted(counts.items())),
        },
    )
    return counts
