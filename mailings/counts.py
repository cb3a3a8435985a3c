"""Folding the count rows the database triggers append (see models.MessageCount, MessageMinute)."""

from django.db import connection, transaction
from django.db.models import Count, Max, Model, Sum

from mailings.models import MessageCount, MessageMinute

_FOLD_POSTGRES = """
WITH crowded AS (
    SELECT {keys} FROM {table}
    GROUP BY {keys} HAVING count(*) > 1
), folded AS (
    DELETE FROM {table} AS c USING crowded
    WHERE {match}
    RETURNING {c_keys}, c.delta
)
INSERT INTO {table} ({keys}, delta)
SELECT {keys}, sum(delta) FROM folded GROUP BY {keys}
"""

# Each table and the key its rows fold by.
_FOLDS: tuple[tuple[type[Model], tuple[str, ...]], ...] = (
    (MessageCount, ("mailing_id", "status", "day")),
    (MessageMinute, ("mailing_id", "status", "minute")),
)


def fold_message_counts() -> int:
    """Replace the rows of each (mailing, status, day), and of each (mailing, status, minute) of
    the per-minute counts, by their sum; returns how many rows went.

    On PostgreSQL one statement deletes exactly the rows it sums, so rows appended
    meanwhile by other transactions are never lost. SQLite writes one at a time.
    """
    return sum(_fold(model, keys) for model, keys in _FOLDS)


def _fold(model: type[Model], keys: tuple[str, ...]) -> int:
    before = model.objects.count()
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        sql = _FOLD_POSTGRES.format(
            table=quote(model._meta.db_table),
            keys=", ".join(keys),
            c_keys=", ".join(f"c.{key}" for key in keys),
            match=" AND ".join(f"c.{key} = crowded.{key}" for key in keys),
        )
        with connection.cursor() as cursor:
            cursor.execute(sql)
    else:
        with transaction.atomic():
            crowded = (
                model.objects.values(*keys)
                .annotate(rows=Count("id"), total=Sum("delta"), last=Max("id"))
                .filter(rows__gt=1)
            )
            for group in list(crowded):
                key = {name: group[name] for name in keys}
                model.objects.filter(**key, id__lte=group["last"]).delete()
                model.objects.create(**key, delta=group["total"])
    return before - model.objects.count()
