"""Delivery reports a provider posted: each sets a sent message's delivery status, in set-based SQL.

A report applies to a message that is `sent`, went through the posting provider, and was sent
less than DELIVERY_REPORT_TIMEOUT ago; and only if it is later (`reported_at`) than the report
recorded, so the latest wins whatever the order and a duplicate changes nothing. Everything
else is counted, never an error: `stale` (an equal or earlier report is recorded, or a later
one in the same list), `late` (past the timeout, or after the tick closed the message as
`no_report`), `unknown` (no such sent message of this provider).

One list is two statements in one transaction: the rows are read and locked in id order (so two
lists that overlap take turns instead of deadlocking), then one UPDATE ... FROM a VALUES list
writes the reports that win. The delivery count triggers (models.DeliveryCount) count them.
`delivery_reports_close_overdue` is the tick's step that closes the wait for a report.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils.dateparse import parse_datetime
from django.utils.timezone import make_aware

from mailings.models import Message

APPLIED, STALE, LATE, UNKNOWN = "applied", "stale", "late", "unknown"
CLOSE_CHUNK = 10_000

_DELIVERED = Message.DeliveryStatus.DELIVERED
_UNDELIVERED = Message.DeliveryStatus.UNDELIVERED
# What a provider may report, as the delivery status it records; `expired` counts as undelivered.
REPORTED_STATUSES = {"delivered": _DELIVERED, "undelivered": _UNDELIVERED, "expired": _UNDELIVERED}


@dataclass(frozen=True)
class DeliveryReport:
    message_id: int
    status: str  # delivered, undelivered or expired
    error_code: str  # "" when none
    reported_at: datetime


def _error(report: DeliveryReport) -> str:
    return report.error_code or ("expired" if report.status == "expired" else "")


def _latest_per_message(reports: list[DeliveryReport]) -> dict[int, int]:
    """Message id -> index of its latest report in the list (the first of equal ones)."""
    chosen: dict[int, int] = {}
    for index, report in enumerate(reports):
        before = chosen.get(report.message_id)
        if before is None or report.reported_at > reports[before].reported_at:
            chosen[report.message_id] = index
    return chosen


def _lock(*, provider: str, ids: list[int]) -> dict[int, tuple]:
    """id -> (sent_at, delivery_status, reported_at) of this provider's sent messages, locked."""
    placeholders = ", ".join(["%s"] * len(ids))
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    sql = (
        "SELECT id, sent_at, delivery_status, reported_at FROM mailings_message "
        f"WHERE id IN ({placeholders}) AND status = %s AND provider = %s ORDER BY id{lock}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ids, Message.Status.SENT, provider])
        rows = cursor.fetchall()
    if connection.vendor == "sqlite":  # raw SQLite rows hold text
        rows = [(i, _aware(s), d, _aware(r)) for i, s, d, r in rows]
    return {row[0]: row[1:] for row in rows}


def _aware(value):
    """SQLite keeps UTC times without an offset (text, or naive datetimes through a raw cursor)."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else parse_datetime(value)
    return make_aware(parsed, UTC) if parsed.tzinfo is None else parsed


def _write(*, provider: str, reports: list[DeliveryReport]) -> int:
    if not reports:
        return 0
    postgres = connection.vendor == "postgresql"
    row = "(%s::bigint, %s::varchar, %s::varchar, %s::timestamptz)" if postgres else "(%s, %s, %s, %s)"
    adapt = connection.ops.adapt_datetimefield_value
    params = []
    for report in reports:
        reported_at = report.reported_at if postgres else adapt(report.reported_at)
        params += [report.message_id, REPORTED_STATUSES[report.status], _error(report)[:100], reported_at]
    sql = (
        f"WITH r (id, delivery_status, delivery_error, reported_at) AS (VALUES {', '.join([row] * len(reports))}) "
        "UPDATE mailings_message SET delivery_status = r.delivery_status, delivery_error = r.delivery_error, "
        "reported_at = r.reported_at, "
        "delivered_at = CASE WHEN r.delivery_status = %s THEN r.reported_at ELSE NULL END "
        "FROM r WHERE mailings_message.id = r.id AND mailings_message.status = %s AND mailings_message.provider = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, _DELIVERED, Message.Status.SENT, provider])
        return cursor.rowcount


def delivery_reports_apply(*, provider: str, reports: list[DeliveryReport], now: datetime) -> dict[str, int]:
    """Record the reports that win; says how many applied, were stale, late or for no message of ours."""
    latest = _latest_per_message(reports)
    cutoff = now - settings.DELIVERY_REPORT_TIMEOUT
    outcomes: list[str] = []
    winners: list[DeliveryReport] = []
    with transaction.atomic():
        found = _lock(provider=provider, ids=sorted(latest))
        for index, report in enumerate(reports):
            if report.message_id not in found:
                outcomes.append(UNKNOWN)
                continue
            sent_at, delivery_status, recorded_at = found[report.message_id]
            if delivery_status == Message.DeliveryStatus.NO_REPORT or sent_at is None or sent_at <= cutoff:
                outcomes.append(LATE)
            elif latest[report.message_id] != index or (recorded_at is not None and report.reported_at <= recorded_at):
                outcomes.append(STALE)
            else:
                outcomes.append(APPLIED)
                winners.append(report)
        _write(provider=provider, reports=winners)
    seen = Counter(outcomes)
    return {"received": len(reports), **{name: seen[name] for name in (APPLIED, STALE, LATE, UNKNOWN)}}


def delivery_reports_close_overdue(*, now: datetime) -> int:
    """Sent messages without a report DELIVERY_REPORT_TIMEOUT after sending become `no_report`:
    unknown for good, counted apart, and a report arriving later is refused as late. In chunks,
    oldest first, along the partial index of the messages still waiting for a report."""
    cutoff = now - settings.DELIVERY_REPORT_TIMEOUT
    waiting = Message.objects.filter(
        status=Message.Status.SENT, delivery_status=Message.DeliveryStatus.UNKNOWN, sent_at__lte=cutoff
    )
    closed = 0
    while True:
        ids = list(waiting.order_by("sent_at").values_list("id", flat=True)[:CLOSE_CHUNK])
        if not ids:
            return closed
        closed += waiting.filter(id__in=ids).update(delivery_status=Message.DeliveryStatus.NO_REPORT)
        if len(ids) < CLOSE_CHUNK:
            return closed
