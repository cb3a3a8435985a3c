"""Writing a batch's outcomes: the sent ones while the batch goes on, the rest at its end.

Sent rows are written as they come, one write at a time, each carrying the answers that
arrived during the one before, so that a worker killed mid-batch has left unrecorded
(and to be sent again) only the answers of the last few milliseconds, and never more
than its requests in flight; at the end, one UPDATE for the sent rows still unwritten,
one for all the others. Every write presents the claim token: a row the
reaper handed to another worker meanwhile is left to its new owner (unless it was
sent: then it must not go again).
"""

import asyncio
import logging
import time
from collections.abc import Collection
from datetime import datetime

from django.db import InterfaceError, OperationalError, connection, models, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from mailings.models import Message
from mailings.sending.liveness import IDLE_IN_TRANSACTION_MS, release_locks_if_paused
from mailings.sending.runtime import db_thread
from mailings.sending.sender import Action, Decision

logger = logging.getLogger(__name__)


class SentRecorder:
    """Writes the batch's sent messages while the batch goes on, as soon as the writer is free.

    Were they written only when the whole batch is done, a worker killed mid-batch would
    leave every message it had already sent unrecorded, and all of them would go a second
    time once it was declared dead. A request keeps its concurrency slot until its `sent` is
    written, so what a killed worker leaves sent-but-unrecorded is never more than its
    requests in flight. Nothing waits to fill a write: the first answer is written at once,
    the answers that arrive meanwhile together in the next write, started the moment the
    one before commits. The writes batch themselves: under load a write carries what came
    during the last one (a few milliseconds' worth), and a slow trickle costs one small
    write per answer. So an answer waits at most about two writes before it is recorded.
    """

    def __init__(self, token: int):
        self.token = token
        self.recorded: set[int] = set()
        self._waiting: list[tuple[int, int, asyncio.Future]] = []
        self._writer: asyncio.Task | None = None
        self._in_write = 0

    def backlog(self) -> int:
        """Answers sent and not yet recorded: waiting for a write, or in the one under way."""
        return len(self._waiting) + self._in_write

    async def sent(self, message_id: int, parts: int = 0, last: bool = False) -> None:
        """Returns once the message is recorded as sent (or the write failed: the batch's record retries it).

        `last`: no other answer of the batch is to come (nothing waits for more answers anyway).
        """
        written = asyncio.get_running_loop().create_future()
        self._waiting.append((message_id, parts, written))
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._write_while_waiting())
        await written

    async def _write_while_waiting(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                waiting, self._waiting = self._waiting, []
                parts = {message_id: n for message_id, n, _ in waiting}
                self._in_write = len(waiting)
                try:
                    await loop.run_in_executor(db_thread(), _record_sent, parts, self.token)
                    self.recorded.update(parts)
                except Exception:  # the database blinked: the batch's own record writes them, with retries
                    logger.warning("could not record sent messages yet", exc_info=True)
                for _, _, written in waiting:
                    if not written.done():
                        written.set_result(None)
        finally:
            self._writer = None
            self._in_write = 0


def _record_sent(parts: dict[int, int], token: int) -> None:
    # The batch's database thread keeps its connection between these writes (many a second):
    # opening one each time would cost more than the write. A broken one is dropped here and
    # MailingSnapshot.read, in the same thread, applies CONN_MAX_AGE.
    try:
        with transaction.atomic():
            if connection.vendor != "postgresql":
                _mark_sent(parts, token, timezone.now())
                return
            with connection.cursor() as cursor:
                # Sending waits for these commits: do not make it wait for the disk as well. The
                # write is visible at once; only a crash of PostgreSQL itself could lose the last
                # fraction of a second of them, and those messages would go again. The locks of a
                # paused process's transaction are released after IDLE_IN_TRANSACTION_MS.
                cursor.execute(
                    "SET LOCAL synchronous_commit TO OFF; "
                    f"SET LOCAL idle_in_transaction_session_timeout = {int(IDLE_IN_TRANSACTION_MS)}"
                )
                # `_mark_sent` in one statement written out: the writes come many a second, and
                # building the ORM's statement each time cost more CPU than the rest of the write.
                cursor.execute(_MARK_SENT_SQL, [timezone.now(), list(parts), list(parts.values()), token])
    except (OperationalError, InterfaceError):
        connection.close()
        raise


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
    sent = {d.row.id: d.parts for d in decisions if d.action is Action.SENT}
    others = [d for d in decisions if d.action is not Action.SENT]
    owned = Q(token=token, status=Message.Status.SENDING)
    with transaction.atomic():
        release_locks_if_paused()
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
            # A request that may have reached its provider: the message stays with it for good.
            pinned = [d.row.id for d in others if d.pinned]
            if pinned:
                Message.objects.filter(id__any=pinned).update(provider_pinned=True)
            # A message whose client was deleted while it was out has nobody to wait for.
            waiting = [d.row.id for d in others if _STATUS_BY_ACTION[d.action] == Message.Status.PENDING]
            if waiting:
                Message.objects.filter(id__any=waiting, status=Message.Status.PENDING, client__isnull=True).update(
                    status=Message.Status.CANCELLED, last_error="client deleted"
                )


_MARK_SENT_SQL = f"""
    UPDATE {Message._meta.db_table} AS m
       SET status = '{Message.Status.SENT.value}', parts = p.parts, sent_at = %s, attempts = m.attempts + 1,
           last_error = '', token = NULL, lease_expires_at = NULL
      FROM unnest(%s::bigint[], %s::smallint[]) AS p(id, parts)
     WHERE m.id = p.id
       AND ((m.token = %s AND m.status = '{Message.Status.SENDING.value}')
            OR m.status = '{Message.Status.PENDING.value}')
"""


def _mark_sent(parts: dict[int, int], token: int, now: datetime) -> None:
    """`parts`: each sent message's id and the SMS parts of the text it went out with."""
    distinct = set(parts.values())
    if len(distinct) == 1:  # a plain text: every message the same parts
        parts_value = Value(distinct.pop())
    else:
        parts_value = Case(
            *(When(id=i, then=Value(n)) for i, n in parts.items()), output_field=models.PositiveSmallIntegerField()
        )
    # Also a row the reaper took back meanwhile: it was sent, it must not go again.
    Message.objects.filter(
        Q(token=token, status=Message.Status.SENDING) | Q(status=Message.Status.PENDING), id__any=list(parts)
    ).update(
        status=Message.Status.SENT,
        parts=parts_value,
        sent_at=now,
        attempts=F("attempts") + 1,
        last_error="",
        token=None,
        lease_expires_at=None,
    )
