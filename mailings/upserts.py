"""Many clients written at once, matched by phone: created, or updated where they differ.

PostgreSQL gets the rows by COPY into a temporary table and merges them in one
statement; other databases go through `bulk_create(update_conflicts=True)`.
Call inside a transaction.
"""

import json
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


# With attribute columns in the file: the attributes too (whole: the plan merged them with the client's).
_MERGE_WITH_ATTRIBUTES = """
INSERT INTO {table} (phone_number, operator_code, tag, timezone, attributes, created_at, updated_at)
SELECT phone_number, operator_code, tag, timezone, attributes, now(), now() FROM client_upsert
ON CONFLICT (phone_number) DO UPDATE
SET operator_code = EXCLUDED.operator_code, tag = EXCLUDED.tag, timezone = EXCLUDED.timezone,
    attributes = EXCLUDED.attributes, updated_at = EXCLUDED.updated_at
WHERE ({table}.operator_code, {table}.tag, {table}.timezone, {table}.attributes)
    IS DISTINCT FROM (EXCLUDED.operator_code, EXCLUDED.tag, EXCLUDED.timezone, EXCLUDED.attributes)
"""


def upsert_clients(rows: Sequence[ClientRow], *, batch_size: int = 5000) -> None:
    """`rows` with `attributes` (not None) write them whole; else the clients' attributes stay."""
    if not rows:
        return
    with_attributes = rows[0].attributes is not None
    if connection.vendor == "postgresql":
        _upsert_by_copy(rows, with_attributes)
        return
    Client.objects.bulk_create(
        [
            Client(
                phone_number=r.phone_number,
                operator_code=r.operator_code,
                tag=r.tag,
                timezone=r.timezone,
                attributes=r.attributes or {},
            )
            for r in rows
        ],
        batch_size=batch_size,
        update_conflicts=True,
        unique_fields=["phone_number"],
        update_fields=["operator_code", "tag", "timezone", *(["attributes"] if with_attributes else []), "updated_at"],
    )


def _upsert_by_copy(rows: Sequence[ClientRow], with_attributes: bool) -> None:
    table = connection.ops.quote_name(Client._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE client_upsert (phone_number text, operator_code text, tag text, timezone text"
            f"{', attributes jsonb' if with_attributes else ''}) ON COMMIT DROP"
        )
        with cursor.cursor.copy("COPY client_upsert FROM STDIN") as copy:
            if with_attributes:
                for row in rows:
                    values = (row.phone_number, row.operator_code, row.tag, row.timezone, json.dumps(row.attributes))
                    copy.write_row(values)
            else:
                for row in rows:
                    copy.write_row((row.phone_number, row.operator_code, row.tag, row.timezone))
        cursor.execute((_MERGE_WITH_ATTRIBUTES if with_attributes else _MERGE).format(table=table))
        cursor.execute("DROP TABLE client_upsert")
        if len(rows) >= ANALYZE_AFTER_ROWS:
            # Mailings about to fan out over these clients should be planned with them counted.
            cursor.execute(f"ANALYZE {table}")
