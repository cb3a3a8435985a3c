"""The tick: everything the periodic task does, in order, each step safe to run twice at once.

1. reap: messages whose worker process's heartbeat stopped, or whose lease expired, go
   back to pending;
2. finish: mailings past their end expire their waiting messages and finish;
   cancelled mailings drop what still waits; running ones with nothing left finish;
3. start: scheduled mailings whose start has come take their audience (fan-out);
4. re-take the audience of running mailings whose filter changed;
5. dispatch due messages to the workers;
6. sent messages without a delivery report past DELIVERY_REPORT_TIMEOUT become `no_report`;
7. fold the message count rows the database triggers appended;
8. note what it did in the cache, for the Sending schedule page (sending/ticks.py).
"""

import logging
import time
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from mailings.counts import fold_message_counts
from mailings.models import Mailing, Message
from mailings.selectors import mailing_audience
from mailings.sending.config import SendingConfig
from mailings.sending.dispatch import dispatch_due
from mailings.sending.fanout import fan_out, refresh_statistics_after
from mailings.sending.liveness import dead_claims, forget_claims
from mailings.sending.ticks import tick_record
from mailings.services.delivery_reports import delivery_reports_close_overdue

logger = logging.getLogger(__name__)


def _put_back(claimed, *, now: datetime, why: str) -> int:
    """Claimed messages whose worker is gone go back to pending, to be sent again at once with the
    same msgId and the same provider (its request may have reached it: `provider_pinned`), no
    attempt used. One rule for both ways a worker is found gone."""
    return claimed.filter(status=Message.Status.SENDING).update(
        status=Message.Status.PENDING,
        provider_pinned=True,
        token=None,
        lease_expires_at=None,
        next_attempt_at=now,
        last_error=f"{why}; retrying with the same msgId",
    )


def reap_expired_leases(*, now: datetime) -> int:
    """Messages left `sending` past their lease (a worker that died, or is stuck) go back to pending."""
    reaped = _put_back(Message.objects.filter(lease_expires_at__lt=now), now=now, why="the worker sending it stopped")
    if reaped:
        logger.warning("took back messages from a stopped worker", extra={"count": reaped})
    return reaped


def hand_back_dead_claims(*, now: datetime) -> int:
    """Messages claimed by a worker process whose heartbeat stopped go back to pending at once.

    The same as the lease's end, seconds after the death instead of minutes. The process,
    were it only paused, finds itself declared dead and stops.
    """
    tokens = list(
        Message.objects.filter(status=Message.Status.SENDING, token__isnull=False)
        .order_by()
        .values_list("token", flat=True)
        .distinct()
    )
    dead = dead_claims(tokens)
    if not dead:
        return 0
    handed = _put_back(
        Message.objects.filter(token__in=dead), now=now, why="the worker process sending it stopped (no heartbeat)"
    )
    forget_claims(dead)
    if handed:
        logger.warning("took back messages from a worker process with no heartbeat", extra={"count": handed})
    return handed


def finish_mailings(*, now: datetime) -> int:
    finished = 0
    for mailing in Mailing.objects.filter(
        status__in=[Mailing.Status.SCHEDULED, Mailing.Status.RUNNING, Mailing.Status.PAUSED], end_datetime__lte=now
    ):
        expired = mailing.messages.filter(status=Message.Status.PENDING).update(
            status=Message.Status.EXPIRED, token=None, last_error="the mailing ended before the message could be sent"
        )
        finished += _finish_if_done(mailing=mailing, now=now, expired=expired)
    # Anything a batch in flight put back to pending after its mailing was cancelled or
    # finished: looked up through the recently closed mailings, so the sweep stays cheap.
    recent = now - timedelta(days=1)
    for status, leftover, reason in (
        (Mailing.Status.CANCELLED, Message.Status.CANCELLED, "the mailing was cancelled"),
        (Mailing.Status.FINISHED, Message.Status.EXPIRED, "the mailing ended before the message could be sent"),
    ):
        closed = Mailing.objects.filter(status=status, finished_at__gte=recent).values("id")
        Message.objects.filter(mailing_id__in=closed, status=Message.Status.PENDING).update(
            status=leftover, token=None, last_error=reason
        )
    for mailing in Mailing.objects.filter(status=Mailing.Status.RUNNING, end_datetime__gt=now, audience_outdated=False):
        if not mailing.messages.filter(status__in=Message.WAITING_STATUSES).exists():
            finished += _finish_if_done(mailing=mailing, now=now, expired=0)
    return finished


def _finish_if_done(*, mailing: Mailing, now: datetime, expired: int) -> int:
    if mailing.messages.filter(status__in=Message.WAITING_STATUSES).exists():
        return 0  # batches in flight record their results first
    done = Mailing.objects.filter(pk=mailing.pk, status=mailing.status).update(
        status=Mailing.Status.FINISHED, finished_at=now
    )
    if done:
        logger.info("mailing finished", extra={"mailing_id": mailing.pk, "count": expired})
    return done


def start_due_mailings(*, now: datetime) -> int:
    started = 0
    for mailing in Mailing.objects.filter(
        status=Mailing.Status.SCHEDULED, start_datetime__lte=now, end_datetime__gt=now
    ):
        with transaction.atomic():
            # Re-read under a lock: an edit since the list was read (a new filter, a later
            # start) must count, and only the tick that flips the status takes the audience.
            fresh = (
                Mailing.objects.select_for_update()
                .filter(pk=mailing.pk, status=Mailing.Status.SCHEDULED, start_datetime__lte=now, end_datetime__gt=now)
                .first()
            )
            if fresh is None:
                continue
            Mailing.objects.filter(pk=fresh.pk).update(
                status=Mailing.Status.RUNNING, started_at=now, audience_outdated=False
            )
            created = fan_out(mailing=fresh, now=now)
        refresh_statistics_after(created)
        started += 1
        logger.info("mailing started", extra={"mailing_id": mailing.pk, "count": created})
    return started


def retake_outdated_audiences(*, now: datetime) -> int:
    """A running mailing whose filter changed: add the new matches, cancel waiting messages to the others."""
    retaken = 0
    for mailing in Mailing.objects.filter(
        status__in=[Mailing.Status.RUNNING, Mailing.Status.PAUSED], audience_outdated=True
    ):
        with transaction.atomic():
            if not Mailing.objects.filter(
                pk=mailing.pk,
                audience_outdated=True,
                status__in=[Mailing.Status.RUNNING, Mailing.Status.PAUSED],
                end_datetime__gt=now,
            ).update(audience_outdated=False):
                continue  # finished or cancelled meanwhile: no new messages for it
            mailing.refresh_from_db()
            added = fan_out(mailing=mailing, now=now)
            dropped = (
                mailing.messages.filter(status=Message.Status.PENDING)
                .exclude(client__in=mailing_audience(mailing=mailing))
                .update(
                    status=Message.Status.CANCELLED, token=None, last_error="no longer matches the mailing's filter"
                )
            )
        refresh_statistics_after(added)
        retaken += 1
        logger.info(
            "mailing audience taken again: %d added, %d no longer match",
            added,
            dropped,
            extra={"mailing_id": mailing.pk},
        )
    return retaken


def mailings_process(*, config: SendingConfig | None = None, now: datetime | None = None) -> dict[str, int]:
    config = config or SendingConfig.from_settings()
    now = now or timezone.now()
    began = time.monotonic()
    summary = {
        # Both take messages back from a stopped worker: its heartbeat first, its lease the backstop.
        "reaped": hand_back_dead_claims(now=now) + reap_expired_leases(now=now),
        "finished": finish_mailings(now=now),
        "started": start_due_mailings(now=now),
        "audiences_retaken": retake_outdated_audiences(now=now),
    }
    summary["queued"] = dispatch_due(config=config, now=now)
    summary["reports_overdue"] = delivery_reports_close_overdue(now=now)
    fold_message_counts()
    tick_record(started_at=now, duration=time.monotonic() - began, summary=summary)
    return summary
