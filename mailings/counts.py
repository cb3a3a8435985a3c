"""Folding the count rows the database triggers append (see models.MessageCount, MessageMinute,
DeliveryCount)."""

from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Count, Max, Model, Sum
from django.utils import timezone

from mailings.models import DeliveryCount, MessageCount, MessageMinute

_FOLD_POSTGRES = """
WITH crowded AS (
    SELECT {keys} FROM {table} {where}
    GROUP BY {keys} HAVING count(*) > 1
), folded AS (
    DELETE FROM {table} AS c USING crowded
    WHERE {match}
    RETURNING {c_keys}, {c_values}
), inserted AS (
    INSERT INTO {table} ({keys}, {values})
    SELECT {keys}, {sums} FROM folded GROUP BY {keys}
    RETURNING 1
)
SELECT (SELECT count(*) FROM folded) - (SELECT count(*) FROM inserted)
"""

# Per-minute rows are folded within this much of now: a trigger writes the minute it runs in, so
# older minutes get no new rows, and the tick does not group the whole table each time.
FOLD_MINUTES_WITHIN = timedelta(days=1)

# Each table, the key its rows fold by, the columns summed, and the column that limits folding to
# recent rows.
_FOLDS: tuple[tuple[type[Model], tuple[str, ...], tuple[str, ...], str | None], ...] = (
    (MessageCount, ("mailing_id", "status", "day"), ("delta", "parts"), None),
    (MessageMinute, ("mailing_id", "status", "minute"), ("delta",), "minute"),
    (DeliveryCount, ("mailing_id", "delivery_status"), ("delta",), None),
)


def fold_message_counts() -> int:
    """Replace the rows of each (mailing, status, day), and of each (mailing, status, minute) of
    the per-minute counts, by their sum; returns how many rows went.

    On PostgreSQL one statement deletes exactly the rows it sums, so rows appended
    meanwhile by other transactions are never lost. SQLite writes one at a time.
    """
    return sum(_fold(model, keys, values, recent=recent) for model, keys, values, recent in _FOLDS)


def _fold(model: type[Model], keys: tuple[str, ...], values: tuple[str, ...], *, recent: str | None) -> int:
    # PostgreSQL says how many rows went from the statement itself: no count of a table that
    # grows by a row a minute per sending mailing on every tick.
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        sql = _FOLD_POSTGRES.format(
            table=quote(model._meta.db_table),
            keys=", ".join(keys),
            c_keys=", ".join(f"c.{key}" for key in keys),
            values=", ".join(values),
            c_values=", ".join(f"c.{value}" for value in values),
            sums=", ".join(f"sum({value})" for value in values),
            match=" AND ".join(f"c.{key} = crowded.{key}" for key in keys),
            where=f"WHERE {recent} >= %s" if recent else "",
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [timezone.now() - FOLD_MINUTES_WITHIN] if recent else [])
            return cursor.fetchone()[0]
    before = model.objects.count()
    rows = model.objects.filter(**{f"{recent}__gte": timezone.now() - FOLD_MINUTES_WITHIN}) if recent else model.objects
    with transaction.atomic():
        sums = {f"total_{value}": Sum(value) for value in values}
        crowded = rows.values(*keys).annotate(rows=Count("id"), last=Max("id"), **sums).filter(rows__gt=1)
        for group in list(crowded):
            key = {name: group[name] for name in keys}
            model.objects.filter(**key, id__lte=group["last"]).delete()
            model.objects.create(**key, **{value: group[f"total_{value}"] for value in values})
    return before - model.objects.count()
