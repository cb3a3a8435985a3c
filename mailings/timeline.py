"""Selectors for a mailing's timeline: messages sent and failed per minute over its life, its
send rate and the estimated finish. They read the trigger-kept per-minute rows of one mailing
(models.MessageMinute) and its status totals, never its messages.
"""

from datetime import UTC, datetime, timedelta

from django.db.models import BigIntegerField, Func, Max, Min, Sum
from django.utils import timezone

from mailings.models import Mailing, Message, MessageMinute
from mailings.selectors import mailing_message_counts

MINUTE = timedelta(minutes=1)
# Bucket widths, in minutes, the per-minute chart widens to as a mailing's life grows.
_BUCKET_MINUTES = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _MinuteBucket(Func):
    """Which bucket of `width` minutes since the Unix epoch a timestamp falls in."""

    output_field = BigIntegerField()

    def __init__(self, expression, *, width: int):
        super().__init__(expression)
        self.seconds = 60 * width

    def as_postgresql(self, compiler, connection):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"floor(extract(epoch FROM {sql}) / {self.seconds:d})::bigint", params

    def as_sqlite(self, compiler, connection):
        sql, params = compiler.compile(self.source_expressions[0])
        # julianday() is fractional days; the half second keeps a whole minute from rounding down.
        return f"CAST(((julianday({sql}) - 2440587.5) * 86400 + 0.5) AS INTEGER) / {self.seconds:d}", params


def _minute_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _bucket_minutes(span_minutes: int, *, max_bars: int) -> int:
    for minutes in _BUCKET_MINUTES:
        if -(-span_minutes // minutes) <= max_bars:
            return minutes
    return 1440 * -(-span_minutes // (1440 * max_bars))


def mailing_sent_failed_per_minute(*, mailing: Mailing, now: datetime | None = None, max_bars: int = 120) -> dict:
    """The mailing's messages that became sent or failed over its life, in buckets of whole minutes.

    {"bucket_minutes": width, "series": [(bucket start (UTC), sent, failed)] oldest first with empty
    buckets as zeros, "charted": sent + failed in the series}. The life runs from its start (or its
    first counted minute) to its finish, or to now while it may still send; at most `max_bars`
    buckets, as wide as needed (1, 2, 5, 10, 15, 30 minutes, 1 hour ...), aligned to UTC. Reads
    the trigger-kept per-minute rows of this mailing only (models.MessageMinute).
    """
    now = now or timezone.now()
    rows = MessageMinute.objects.filter(mailing_id=mailing.pk)
    bounds = rows.aggregate(first=Min("minute"), last=Max("minute"))
    begins = [_minute_floor(m) for m in (mailing.started_at, bounds["first"]) if m]
    if not begins:
        return {"bucket_minutes": 1, "series": [], "charted": 0}
    if mailing.status in Mailing.CLOSED_STATUSES and mailing.finished_at:
        end = _minute_floor(mailing.finished_at)
    else:
        end = _minute_floor(now)
    if bounds["last"]:
        end = max(end, _minute_floor(bounds["last"]))
    start = min(begins)
    width = _bucket_minutes(int((end - start) / MINUTE) + 1, max_bars=max_bars)
    first_index = int((start - _EPOCH) / MINUTE) // width
    series = [
        [_EPOCH + index * width * MINUTE, 0, 0]
        for index in range(first_index, int((end - _EPOCH) / MINUTE) // width + 1)
    ]
    charted = 0
    # Summed by bucket in the database: a month of minutes is 86,400 rows, 61 buckets.
    buckets = rows.values_list(_MinuteBucket("minute", width=width), "status").annotate(n=Sum("delta")).order_by()
    for index, status, n in buckets:
        series[index - first_index][1 if status == Message.Status.SENT else 2] += n
        charted += n
    return {"bucket_minutes": width, "series": [tuple(bucket) for bucket in series], "charted": charted}


def mailing_send_rate(*, mailing: Mailing, now: datetime | None = None, window_minutes: int = 5) -> float:
    """Messages sent or failed per minute over the last `window_minutes` whole minutes and this one
    (from the start, if the mailing started within them), from the per-minute rows."""
    now = now or timezone.now()
    since = _minute_floor(now) - window_minutes * MINUTE
    if mailing.started_at and mailing.started_at > since:
        since = _minute_floor(mailing.started_at)
    done = (
        MessageMinute.objects.filter(mailing_id=mailing.pk, minute__gte=since, minute__lte=now).aggregate(
            n=Sum("delta")
        )["n"]
        or 0
    )
    return done / max((now - since) / MINUTE, 1.0)


def mailing_finish_estimate(*, mailing: Mailing, now: datetime | None = None, window_minutes: int = 5) -> dict:
    """The send rate and when, at that rate, the waiting messages are done.

    {"rate": per minute, "waiting": n, "finish": datetime or None, "reason": why there is no
    finish (a sentence) or None, "left_at_end": messages still waiting when the end comes}.
    """
    now = now or timezone.now()
    counts = mailing_message_counts(mailing=mailing)
    waiting = sum(counts[status] for status in Message.WAITING_STATUSES)
    rate = mailing_send_rate(mailing=mailing, now=now, window_minutes=window_minutes)
    estimate = {"rate": rate, "waiting": waiting, "finish": None, "reason": None, "left_at_end": 0}
    if mailing.status == Mailing.Status.SCHEDULED:
        estimate["reason"] = "Not started yet."
    elif mailing.status == Mailing.Status.PAUSED:
        estimate["reason"] = "Paused: nothing is sent until it is resumed."
    elif mailing.status in Mailing.CLOSED_STATUSES:
        estimate["reason"] = f"{mailing.get_status_display()}: nothing more is sent."
    elif mailing.end_datetime <= now:
        estimate["reason"] = "Its end has passed: the waiting messages expire at the next tick."
    elif waiting == 0:
        estimate["reason"] = "Nothing is waiting."
    elif rate <= 0:
        estimate["reason"] = (
            f"Nothing sent in the last {window_minutes} minutes "
            "(outside the clients' sending window, or the provider is not answering)."
        )
    else:
        finish = now + waiting / rate * MINUTE
        if finish > mailing.end_datetime:
            estimate["left_at_end"] = waiting - int(rate * ((mailing.end_datetime - now) / MINUTE))
        estimate["finish"] = min(finish, mailing.end_datetime) if estimate["left_at_end"] else finish
    return estimate
