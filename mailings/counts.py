"""Folding the message count rows the database triggers append (see models.MessageCount)."""

from django.db import connection, transaction
from django.db.models import Count, Max, Sum

from mailings.models import MessageCount

_FOLD_POSTGRES = """
WITH crowded AS (
    SELECT mailing_id, status, day FROM {table}
    GROUP BY mailing_id, status, day HAVING count(*) > 1
), folded AS (
    DELETE FROM {table} AS c USING crowded
    WHERE c.mailing_id = crowded.mailing_id AND c.status = crowded.status AND c.day = crowded.day
    RETURNING c.mailing_id, c.status, c.day, c.delta
)
INSERT INTO {table} (mailing_id, status, day, delta)
SELECT mailing_id, status, day, sum(delta) FROM folded GROUP BY mailing_id, status, day
"""


def fold_message_counts() -> int:
    """Replace the rows of each (mailing, status, day) by their sum; returns how many rows went.

    On PostgreSQL one statement deletes exactly the rows it sums, so rows appended
    meanwhile by other transactions are never lost. SQLite writes one at a time.
    """
    before = MessageCount.objects.count()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_FOLD_POSTGRES.format(table=connection.ops.quote_name(MessageCount._meta.db_table)))
    else:
        with transaction.atomic():
            crowded = (
                MessageCount.objects.values("mailing_id", "status", "day")
                .annotate(rows=Count("id"), total=Sum("delta"), last=Max("id"))
                .filter(rows__gt=1)
            )
            for group in list(crowded):
                key = {"mailing_id": group["mailing_id"], "status": group["status"], "day": group["day"]}
                MessageCount.objects.filter(**key, id__lte=group["last"]).delete()
                MessageCount.objects.create(**key, delta=group["total"])
    return before - MessageCount.objects.count()
