"""Dispatch: hand due pending messages to the workers in batches, keeping the queue short.

A batch gets a random token written on its rows, with `next_attempt_at` pushed by
the queue grace so the next dispatch skips them. Only the task carrying the token
can claim the rows; if the task is lost (a broker restart), the grace runs out
and the rows are dispatched again under a new token, which the lost task could
no longer claim. The queue holds at most `max_queued` messages, so a task never
waits long enough for its grace to run out; each finished batch tops it up.

Providers are decided later, in the claim (`assign`); dispatch holds back only while every
enabled provider's circuit is open, and hands out one batch (a probe's) while none is closed.

Messages outside their client's sending window are not queued: their
`next_attempt_at` moves to the window's next opening in the client's zone.
"""

import itertools
import logging
import secrets
from collections import defaultdict
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from mailings.models import Mailing, Message
from mailings.sending.circuit import Mode, circuit_mode, circuit_states
from mailings.sending.config import SendingConfig
from mailings.sending.windows import next_opening, window_open
from mailings.tasks import send_batch as send_batch_task

logger = logging.getLogger(__name__)

DISPATCH_LOCK = "dispatch-lock"


def dispatch_due(*, config: SendingConfig, now: datetime | None = None) -> int:
    """Queue due messages of running mailings; returns how many. One dispatcher at a time."""
    now = now or timezone.now()
    states = circuit_states(sorted(config.enabled))
    modes = {circuit_mode(state, now=now.timestamp()) for state in states.values()}
    if modes == {Mode.OPEN}:
        return 0  # every provider is down: nothing to hand out until a cool-down ends
    if not cache.add(DISPATCH_LOCK, 1, timeout=60):
        return 0
    try:
        # None closed, one probing: one batch, whose first message tests that provider.
        room = config.batch_size if Mode.CLOSED not in modes else config.max_queued - queued_count(now=now)
        return _dispatch(room=room, config=config, now=now)
    finally:
        cache.delete(DISPATCH_LOCK)


def queued_count(*, now: datetime) -> int:
    """Messages handed to workers and not yet claimed (their grace still running)."""
    return Message.objects.filter(status=Message.Status.PENDING, token__isnull=False, next_attempt_at__gt=now).count()


def _dispatch(*, room: int, config: SendingConfig, now: datetime) -> int:
    if room <= 0:
        return 0
    mailings = list(
        Mailing.objects.filter(status=Mailing.Status.RUNNING, start_datetime__lte=now, end_datetime__gt=now).order_by(
            "end_datetime", "pk"
        )
    )
    share = max(config.batch_size, room // max(len(mailings), 1))
    batches: list[list[tuple[int, list[int]]]] = []
    total = 0
    for mailing in mailings:
        if total >= room:
            break
        ready = _ready_ids(mailing=mailing, limit=min(share, room - total), now=now)
        total += len(ready)
        batches.append(
            [(mailing.pk, ready[i : i + config.batch_size]) for i in range(0, len(ready), config.batch_size)]
        )
    # Each mailing's first batch, then each one's second, and so on: the workers take them in
    # that order, so a big mailing does not hold a small one back until its whole share is sent.
    queued: dict[int, int] = defaultdict(int)
    grace = now + timedelta(seconds=config.queue_grace)
    for turn in itertools.zip_longest(*batches):
        for mailing_id, chunk in filter(None, turn):
            queued[mailing_id] += _queue_batch(mailing_id=mailing_id, message_ids=chunk, grace=grace)
    for mailing_id, count in queued.items():
        if count:
            logger.info("queued messages", extra={"mailing_id": mailing_id, "count": count})
    return sum(queued.values())


def _ready_ids(*, mailing: Mailing, limit: int, now: datetime) -> list[int]:
    """Up to `limit` of the mailing's due messages whose client's window is open (the others
    move to their window's opening)."""
    due = Message.objects.filter(mailing=mailing, status=Message.Status.PENDING, next_attempt_at__lte=now).order_by(
        "next_attempt_at"
    )
    if mailing.send_window_start is None or mailing.send_window_end is None:
        return list(due.values_list("id", flat=True)[:limit])
    rows = list(due.values_list("id", "client__timezone")[:limit])
    ready, waiting = _split_by_window(rows=rows, mailing=mailing, now=now)
    for opening, ids in waiting.items():
        Message.objects.filter(id__any=ids, status=Message.Status.PENDING).update(next_attempt_at=opening, token=None)
    return ready


def _queue_batch(*, mailing_id: int, message_ids: list[int], grace: datetime) -> int:
    """Mark the batch's rows with a new token and hand it to the workers once that is committed."""
    token = secrets.randbits(63)
    with transaction.atomic():
        marked = Message.objects.filter(id__any=message_ids, status=Message.Status.PENDING).update(
            token=token, next_attempt_at=grace
        )
        transaction.on_commit(
            lambda: send_batch_task.delay(mailing_id=mailing_id, message_ids=message_ids, token=token)
        )
    return marked


def _split_by_window(
    *, rows: list[tuple[int, str | None]], mailing: Mailing, now: datetime
) -> tuple[list[int], dict[datetime, list[int]]]:
    """Ids whose client's window is open now, and the others grouped by when it opens."""
    ready: list[int] = []
    waiting: dict[datetime, list[int]] = defaultdict(list)
    opening_by_zone: dict[str, datetime | None] = {}
    for message_id, zone in rows:
        zone = zone or "UTC"
        if zone not in opening_by_zone:
            is_open = window_open(at=now, zone_name=zone, start=mailing.send_window_start, end=mailing.send_window_end)
            opening_by_zone[zone] = (
                None if is_open else next_opening(at=now, zone_name=zone, start=mailing.send_window_start)
            )
        opening = opening_by_zone[zone]
        if opening is None:
            ready.append(message_id)
        else:
            waiting[opening].append(message_id)
    return ready, waiting
