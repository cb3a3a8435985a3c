"""Everything that reads: audiences, statistics and the provider's state.

Message statistics sum the count rows that database triggers keep per mailing
and status (models.MessageCount), so they cost the same at ten million messages
as at ten; every status appears, zeros included.
"""

import hashlib
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from django.core.cache import cache
from django.db import connections, models
from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from mailings.models import Client, Mailing, Message, MessageCount
from mailings.providers import DEFAULT_PROVIDER, providers
from mailings.sending.circuit import Mode, circuit_mode, circuit_state, circuit_states

MESSAGE_STATUSES: tuple[str, ...] = tuple(Message.Status.values)
MAILING_STATUSES: tuple[str, ...] = tuple(Mailing.Status.values)


def _zero_counts(statuses: Iterable[str]) -> dict[str, int]:
    return dict.fromkeys(statuses, 0)


def message_counts_by_mailing(*, mailing_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """{mailing id: {status: count}} for the given mailings, every status present."""
    ids = list(mailing_ids)
    counts = {mailing_id: _zero_counts(MESSAGE_STATUSES) for mailing_id in ids}
    if not ids:
        return counts
    rows = (
        MessageCount.objects.filter(mailing_id__in=ids)
        .values_list("mailing_id", "status")
        .annotate(n=Sum("delta"))
        .order_by()
    )
    for mailing_id, status, n in rows:
        counts[mailing_id][status] = n
    return counts


def mailing_message_counts(*, mailing: Mailing) -> dict[str, int]:
    return message_counts_by_mailing(mailing_ids=[mailing.pk])[mailing.pk]


def mailing_counts_by_status() -> dict[str, int]:
    counts = _zero_counts(MAILING_STATUSES)
    for status, n in Mailing.objects.values_list("status").annotate(n=Count("id")).order_by():
        counts[status] = n
    return counts


def message_count_subquery(*, statuses: list[str] | None = None):
    """For annotating mailings: their messages (in `statuses`, or all) from the trigger-kept counts."""
    rows = MessageCount.objects.filter(mailing_id=OuterRef("pk"))
    if statuses:
        rows = rows.filter(status__in=statuses)
    total = rows.order_by().values("mailing_id").annotate(n=Sum("delta")).values("n")[:1]
    return Coalesce(Subquery(total), 0)


def parts_sent_subquery():
    """For annotating mailings: the SMS parts of their sent messages, from the trigger-kept counts."""
    rows = MessageCount.objects.filter(mailing_id=OuterRef("pk"), status=Message.Status.SENT)
    return Coalesce(Subquery(rows.order_by().values("mailing_id").annotate(n=Sum("parts")).values("n")[:1]), 0)


def parts_sent_by_mailing(*, mailing_ids: Iterable[int]) -> dict[int, int]:
    """{mailing id: SMS parts sent} for the given mailings (0 for none)."""
    ids = list(mailing_ids)
    parts = dict.fromkeys(ids, 0)
    rows = MessageCount.objects.filter(mailing_id__in=ids, status=Message.Status.SENT).values_list("mailing_id")
    for mailing_id, n in rows.annotate(n=Sum("parts")).order_by():
        parts[mailing_id] = n
    return parts


def parts_sent_total(*, mailings: QuerySet | None = None) -> int:
    """SMS parts sent over a set of mailings (a queryset of their ids), or over all."""
    rows = MessageCount.objects.filter(status=Message.Status.SENT)
    if mailings is not None:
        rows = rows.filter(mailing_id__in=mailings)
    return rows.aggregate(n=Sum("parts"))["n"] or 0


def message_counts_by_status(*, mailings: QuerySet | None = None) -> dict[str, int]:
    """Message counts per status over a set of mailings (a queryset of their ids), or over all."""
    counts = _zero_counts(MESSAGE_STATUSES)
    rows = MessageCount.objects.all() if mailings is None else MessageCount.objects.filter(mailing_id__in=mailings)
    for status, n in rows.values_list("status").annotate(n=Sum("delta")).order_by():
        counts[status] = n
    return counts


def message_daily_sent_failed(
    *, mailings: QuerySet | None = None, days: int = 30, today: date | None = None
) -> list[tuple[date, int, int]]:
    """(day, sent, failed) for each of the last `days` UTC days, oldest first, zeros included:
    the messages that became sent or failed that day (of `mailings`, or of all)."""
    today = today or timezone.now().date()
    first = today - timedelta(days=days - 1)
    rows = MessageCount.objects.filter(
        day__gte=first, day__lte=today, status__in=[Message.Status.SENT, Message.Status.FAILED]
    )
    if mailings is not None:
        rows = rows.filter(mailing_id__in=mailings)
    totals = {
        (day, status): n for day, status, n in rows.values_list("day", "status").annotate(n=Sum("delta")).order_by()
    }
    return [
        (day, totals.get((day, Message.Status.SENT), 0), totals.get((day, Message.Status.FAILED), 0))
        for day in (first + timedelta(days=offset) for offset in range(days))
    ]


def message_total(*, mailing_id: int | None = None, status: str | None = None) -> int:
    """How many messages (of a mailing, in a status), from the counts: no COUNT(*) over the table."""
    rows = MessageCount.objects.all()
    if mailing_id is not None:
        rows = rows.filter(mailing_id=mailing_id)
    if status is not None:
        rows = rows.filter(status=status)
    return rows.aggregate(n=Sum("delta"))["n"] or 0


def mailing_statistics_overall() -> dict:
    """Mailings and messages in total and per status."""
    mailings = mailing_counts_by_status()
    messages = message_counts_by_status()
    return {
        "mailings_total": sum(mailings.values()),
        "mailings_by_status": mailings,
        "messages_total": sum(messages.values()),
        "messages_by_status": messages,
    }


def left_out_do_not_contact_total(*, mailings: QuerySet | None = None) -> int:
    """Clients left out at fan-out for the do-not-contact list, over `mailings` (or all)."""
    rows = Mailing.objects.all() if mailings is None else Mailing.objects.filter(pk__in=mailings.values("pk"))
    return rows.order_by().aggregate(n=Sum("left_out_do_not_contact"))["n"] or 0


def mailing_messages(*, mailing: Mailing) -> QuerySet[Message]:
    return Message.objects.filter(mailing=mailing).order_by("id")


def client_audience(*, operator_code: str = "", tag: str = "") -> QuerySet[Client]:
    """The clients a filter matches now (empty values match any; both means both)."""
    clients = Client.objects.all()
    if operator_code:
        clients = clients.filter(operator_code=operator_code)
    if tag:
        clients = clients.filter(tag=tag)
    return clients


def mailing_audience(*, mailing: Mailing) -> QuerySet[Client]:
    return client_audience(operator_code=mailing.filter_operator_code, tag=mailing.filter_tag)


def client_audience_count(*, operator_code: str = "", tag: str = "") -> int:
    return client_audience(operator_code=operator_code, tag=tag).count()


AUDIENCE_CACHE_SECONDS = 60


def client_audience_count_recent(*, operator_code: str = "", tag: str = "") -> int:
    """`client_audience_count`, remembered for a minute: a list of mailings asks it for each row that
    has not started, and on a million clients each count is a scan of an index."""
    key = "audience-count:" + hashlib.sha256(f"{operator_code}\0{tag}".encode()).hexdigest()[:32]
    count = cache.get(key)
    if count is None:
        count = client_audience_count(operator_code=operator_code, tag=tag)
        cache.set(key, count, AUDIENCE_CACHE_SECONDS)
    return count


_SKIP_SCAN = """
WITH RECURSIVE skip(value) AS (
    (SELECT {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY {column} LIMIT 1)
    UNION ALL
    SELECT (SELECT {column} FROM {table} WHERE {column} > skip.value ORDER BY {column} LIMIT 1)
    FROM skip WHERE skip.value IS NOT NULL
)
SELECT value FROM skip WHERE value IS NOT NULL LIMIT %s
"""


def indexed_distinct_values(*, model: type[models.Model], field_name: str, limit: int, using: str = "default") -> list:
    """The first `limit` distinct values of an indexed column, in order. On PostgreSQL by skipping
    through its index, one probe per value, instead of a DISTINCT over every row."""
    connection_ = connections[using]
    field = model._meta.get_field(field_name)
    if connection_.vendor != "postgresql":
        rows = model.objects.using(using).exclude(**{field_name: None}).order_by(field_name)
        return list(rows.values_list(field_name, flat=True).distinct()[:limit])
    quote = connection_.ops.quote_name
    sql = _SKIP_SCAN.format(column=quote(field.column), table=quote(model._meta.db_table))
    with connection_.cursor() as cursor:
        cursor.execute(sql, [limit])
        return [value for (value,) in cursor.fetchall()]


# More zones than IANA has names: every zone a client can have is read.
CLIENT_ZONES_MAX = 10_000


def client_timezones() -> list[str]:
    """The time zones of all clients (tens of them: a probe of the zone index each)."""
    return indexed_distinct_values(model=Client, field_name="timezone", limit=CLIENT_ZONES_MAX)


def client_audience_in_zones(*, operator_code: str = "", tag: str = "", zones: list[str]) -> bool:
    """Whether a filter matches a client in one of `zones` now: a walk of the (timezone,
    operator_code, tag) index. Ordered by it: with a bare LIMIT 1, PostgreSQL expects a match
    early in a sequential scan and reads the whole table when there is none."""
    clients = client_audience(operator_code=operator_code, tag=tag).filter(timezone__in=zones)
    # Not .exists(): it drops the order. The index's own columns: an index-only scan.
    return bool(clients.order_by("timezone", "operator_code", "tag").values_list("timezone", flat=True)[:1])


PROCESSING_TASK = "mailings.tasks.process_active_mailings"


def periodic_task_processing():
    """The periodic task that drives sending (None if someone deleted it)."""
    return PeriodicTask.objects.filter(task=PROCESSING_TASK).select_related("interval").first()


def sending_task_state() -> str:
    """ "on", "off" (the task disabled) or "missing": one small query, for a banner on every page."""
    enabled = PeriodicTask.objects.filter(task=PROCESSING_TASK).values_list("enabled", flat=True).first()
    return "missing" if enabled is None else ("on" if enabled else "off")


def provider_status(provider: str = DEFAULT_PROVIDER) -> dict:
    """A provider's circuit: {"state": "closed"} when sending normally, else open or probing with
    its reason and times."""
    return _circuit_status(circuit_state(provider))


def _circuit_status(state: dict | None) -> dict:
    mode = circuit_mode(state)
    if mode is Mode.CLOSED:
        return {"state": mode.value, "reason": "", "opened_at": None, "retry_at": None}
    return {
        "state": mode.value,
        "reason": state["reason"],
        "opened_at": state["opened_at"],
        "retry_at": state["until"],
        "retry_at_display": datetime.fromtimestamp(state["until"], UTC).strftime("%H:%M:%S"),
    }


def providers_status() -> list[dict]:
    """Every configured provider with its settings and circuit, for the admin and /metrics; its
    token only as "set" or "missing", never its value."""
    configured = providers()
    states = circuit_states(list(configured))
    return [
        {
            "name": name,
            "url": provider.url,
            "parts_per_second": provider.parts_per_second,
            "enabled": provider.enabled,
            "token": "set" if provider.token else "missing",
            **_circuit_status(states[name]),
        }
        for name, provider in configured.items()
    ]


def failing_providers() -> list[dict]:
    """The enabled providers whose circuit is open or probing (`providers_status`'s rows), for the
    admin's banner: sending through each is on hold."""
    return [status for status in providers_status() if status["enabled"] and status["state"] != "closed"]


def phones_starting_with(queryset: QuerySet, prefix: str) -> QuerySet:
    """The rows whose phone starts with `prefix` (see normalizers.phone_prefix), as a range of the
    column: an ordinary index on the phone serves it and its order in any collation, where
    `LIKE 'prefix%'` needs a pattern index (and then cannot serve the order)."""
    if len(prefix) == 11:
        return queryset.filter(phone_number=prefix)
    rows = queryset.filter(phone_number__gte=prefix)
    upper = prefix.rstrip("9")  # the first string past every phone that starts with the prefix
    if not upper:
        return rows
    return rows.filter(phone_number__lt=upper[:-1] + str(int(upper[-1]) + 1))
