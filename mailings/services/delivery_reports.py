"""Delivery reports a provider posted: each sets a sent message's delivery status, in set-based SQL.

A report applies to a message that is `sent`, went through the posting provider, and was sent
less than DELIVERY_REPORT_TIMEOUT ago; and only if it is later (`reported_at`) than the report
recorded, so the latest wins whatever the order and a duplicate changes nothing. Everything
else is counted, never an error: `stale` (an equal or earlier report is recorded, or a later
one in the same list), `late` (past the timeout, or after the tick closed the message as
`no_report`), `unknown` (no such sent message of this provider).

One list is one UPDATE ... FROM a VALUES list (the latest report per message in the list, in
id order) whose WHERE holds every rule above, so a report racing another for the same message
is decided by the row as it is when the update takes it. Only when some did not apply does a
SELECT say why, to count them. The delivery count triggers (models.DeliveryCount) count them.
`delivery_reports_close_overdue` is the tick's step that closes the wait for a report.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils.dateparse import parse_datetime
from django.utils.timezone import make_aware

from mailings.models import Message

APPLIED, STALE, LATE, UNKNOWN = "applied", "stale", "late", "unknown"
CLOSE_CHUNK = 10_000
DEADLOCK_RETRIES = 3

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


def _found(*, provider: str, ids: list[int]) -> dict[int, tuple]:
    """id -> (sent_at, delivery_status, reported_at) of this provider's sent messages among `ids`."""
    placeholders = ", ".join(["%s"] * len(ids))
    sql = (
        "SELECT id, sent_at, delivery_status, reported_at FROM mailings_message "
        f"WHERE id IN ({placeholders}) AND status = %s AND provider = %s"
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


def _write(*, provider: str, reports: list[DeliveryReport], cutoff: datetime) -> set[int]:
    """One UPDATE ... FROM (VALUES ...): each report where it wins; the ids it changed."""
    if not reports:
        return set()
    postgres = connection.vendor == "postgresql"
    row = "(%s::bigint, %s::varchar, %s::varchar, %s::timestamptz)" if postgres else "(%s, %s, %s, %s)"
    adapt = (lambda value: value) if postgres else connection.ops.adapt_datetimefield_value
    params = []
    for report in sorted(reports, key=lambda report: report.message_id):  # rows taken in id order
        params += [report.message_id, REPORTED_STATUSES[report.status], _error(report)[:100], adapt(report.reported_at)]
    m = "mailings_message"
    sql = (
        f"WITH r (id, delivery_status, delivery_error, reported_at) AS (VALUES {', '.join([row] * len(reports))}) "
        f"UPDATE {m} SET delivery_status = r.delivery_status, delivery_error = r.delivery_error, "
        "reported_at = r.reported_at, "
        "delivered_at = CASE WHEN r.delivery_status = %s THEN r.reported_at ELSE NULL END "
        f"FROM r WHERE {m}.id = r.id AND {m}.status = %s AND {m}.provider = %s AND {m}.delivery_status <> %s "
        f"AND {m}.sent_at > %s AND ({m}.reported_at IS NULL OR {m}.reported_at < r.reported_at) "
        f"RETURNING {m}.id"
    )
    extra = [_DELIVERED, Message.Status.SENT, provider, Message.DeliveryStatus.NO_REPORT, adapt(cutoff)]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *extra])
        return {row[0] for row in cursor.fetchall()}


def _apply_once(*, provider: str, reports: list[DeliveryReport], now: datetime) -> list[str]:
    latest = _latest_per_message(reports)
    cutoff = now - settings.DELIVERY_REPORT_TIMEOUT
    with transaction.atomic():
        applied = _write(provider=provider, reports=[reports[index] for index in latest.values()], cutoff=cutoff)
        missed = sorted(set(latest) - applied)
        # Why the others did not apply (read after the write: rare, and only to count them).
        found = _found(provider=provider, ids=missed) if missed else {}
    outcomes = []
    for index, report in enumerate(reports):
        if report.message_id in applied and latest[report.message_id] == index:
            outcomes.append(APPLIED)
        elif report.message_id not in found and report.message_id not in applied:
            outcomes.append(UNKNOWN)
        else:
            sent_at, delivery_status, _ = found.get(report.message_id, (now, None, None))
            late = delivery_status == Message.DeliveryStatus.NO_REPORT or sent_at is None or sent_at <= cutoff
            outcomes.append(LATE if late else STALE)
    return outcomes


def delivery_reports_apply(*, provider: str, reports: list[DeliveryReport], now: datetime) -> dict[str, int]:
    """Record the reports that win; says how many applied, were stale, late or for no message of ours.

    Two lists that share messages may lock them in opposite orders on PostgreSQL; the one it
    picks to break the deadlock is rolled back and applied again (it changed nothing)."""
    for attempt in range(DEADLOCK_RETRIES):
        try:
            outcomes = _apply_once(provider=provider, reports=reports, now=now)
            break
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != "40P01" or attempt == DEADLOCK_RETRIES - 1:
                raise
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
