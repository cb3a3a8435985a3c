"""Fan-out: one set-based statement creates a mailing's pending messages for its audience.

`INSERT ... SELECT ... ON CONFLICT DO NOTHING`: the audience never passes through
Python, and running it twice (overlapping ticks, a retried task, a changed filter)
adds only the clients that have no message yet.
"""

from datetime import datetime

from django.db import connection

from mailings.models import Mailing, Message
from mailings.selectors import mailing_audience


def fan_out(*, mailing: Mailing, now: datetime) -> int:
    """Create the pending messages of `mailing`'s audience; returns how many were new."""
    audience_sql, audience_params = (
        mailing_audience(mailing=mailing).order_by().values("id", "phone_number").query.sql_with_params()
    )
    table = connection.ops.quote_name(Message._meta.db_table)
    # "WHERE true" keeps SQLite from reading ON CONFLICT as a join constraint.
    sql = (
        f"INSERT INTO {table} "
        "(mailing_id, client_id, phone_number, status, attempts, next_attempt_at, created_at, last_error) "
        f"SELECT %s, audience.id, audience.phone_number, %s, 0, %s, %s, '' FROM ({audience_sql}) AS audience "
        "WHERE true ON CONFLICT (mailing_id, client_id) DO NOTHING"
    )
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, [mailing.pk, Message.Status.PENDING, stamp, stamp, *audience_params])
        return cursor.rowcount


# After this many new rows the planner's picture of the table is stale enough to matter.
ANALYZE_AFTER_ROWS = 10_000


def refresh_statistics_after(created: int) -> None:
    """Tell PostgreSQL's planner about a large fan-out at once, not at autovacuum's next pass.

    With statistics from before the fan-out it believes few messages are pending and
    scans them all for every batch's claim instead of looking the ids up.
    """
    if created >= ANALYZE_AFTER_ROWS and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Message._meta.db_table)}")
