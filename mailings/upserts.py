"""Many clients written at once, matched by phone: created, or updated where they differ.

PostgreSQL gets the rows by COPY into a temporary table and merges them in one
statement; other databases go through `bulk_create(update_conflicts=True)`.
Call inside a transaction.
"""

from collections.abc import Sequence

from django.db import connection

from mailings.client_csv import ClientRow
from mailings.models import Client
from mailings.sending.fanout import ANALYZE_AFTER_ROWS

_MERGE = """
INSERT INTO {table} (phone_number, operator_code, tag, timezone, created_at, updated_at)
SELECT phone_number, operator_code, tag, timezone, now(), now() FROM client_upsert
ON CONFLICT (phone_number) DO UPDATE
SET operator_code = EXCLUDED.operator_code, tag = EXCLUDED.tag, timezone = EXCLUDED.timezone,
    updated_at = EXCLUDED.updated_at
WHERE ({table}.operator_code, {table}.tag, {table}.timezone)
    IS DISTINCT FROM (EXCLUDED.operator_code, EXCLUDED.tag, EXCLUDED.timezone)
"""


def upsert_clients(rows: Sequence[ClientRow], *, batch_size: int = 5000) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":
        _upsert_by_copy(rows)
        return
    Client.objects.bulk_create(
        [
            Client(phone_number=r.phone_number, operator_code=r.operator_code, tag=r.tag, timezone=r.timezone)
            for r in rows
        ],
        batch_size=batch_size,
        update_conflicts=True,
        unique_fields=["phone_number"],
        update_fields=["operator_code", "tag", "timezone", "updated_at"],
    )


def _upsert_by_copy(rows: Sequence[ClientRow]) -> None:
    table = connection.ops.quote_name(Client._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE client_upsert (phone_number text, operator_code text, tag text, timezone text) "
            "ON COMMIT DROP"
        )
        with cursor.cursor.copy("COPY client_upsert FROM STDIN") as copy:
            for row in rows:
                copy.write_row((row.phone_number, row.operator_code, row.tag, row.timezone))
        cursor.execute(_MERGE.format(table=table))
        cursor.execute("DROP TABLE client_upsert")
        if len(rows) >= ANALYZE_AFTER_ROWS:
            # Mailings about to fan out over these clients should be planned with them counted.
            cursor.execute(f"ANALYZE {table}")
