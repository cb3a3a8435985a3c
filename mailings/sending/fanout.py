"""Fan-out: one set-based statement creates a mailing's pending messages for its audience.

`INSERT ... SELECT ... ON CONFLICT DO NOTHING`: the audience never passes through
Python, and running it twice (overlapping ticks, a retried task, a changed filter)
adds only the clients that have no message yet.

A client whose phone is on the do-not-contact list gets no message (a NOT EXISTS on the
list's unique phone index); how many of the audience that left out is written on the mailing.
"""

from datetime import datetime

from django.db import connection
from django.db.models import Exists, OuterRef

from mailings.models import Mailing, Message, Suppression
from mailings.selectors import mailing_audience


def fan_out(*, mailing: Mailing, now: datetime) -> int:
    """Create the pending messages of `mailing`'s audience; returns how many were new."""
    audience_sql, audience_params = (
        mailing_audience(mailing=mailing).order_by().values("id", "phone_number").query.sql_with_params()
    )
    quote = connection.ops.quote_name
    table = quote(Message._meta.db_table)
    suppressions = quote(Suppression._meta.db_table)
    # The WHERE also keeps SQLite from reading ON CONFLICT as a join constraint.
    sql = (
        f"INSERT INTO {table} "
        "(mailing_id, client_id, phone_number, status, attempts, next_attempt_at, created_at, last_error) "
        f"SELECT %s, audience.id, audience.phone_number, %s, 0, %s, %s, '' FROM ({audience_sql}) AS audience "
        f"WHERE NOT EXISTS (SELECT 1 FROM {suppressions} s WHERE s.phone_number = audience.phone_number) "
        "ON CONFLICT (mailing_id, client_id) DO NOTHING"
    )
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, [mailing.pk, Message.Status.PENDING, stamp, stamp, *audience_params])
        created = cursor.rowcount
    Mailing.objects.filter(pk=mailing.pk).update(left_out_do_not_contact=count_left_out(mailing=mailing))
    return created


def count_left_out(*, mailing: Mailing) -> int:
    """The audience's clients with no message of `mailing` because their phone is on the list.

    Counted afresh at each fan-out, not added up: a second fan-out (a changed filter) gives the
    figure for the audience it took. A client suppressed after getting its message is not in
    it: the claim cancels that message ("do not contact") and the statistics count it cancelled.
    """
    return (
        mailing_audience(mailing=mailing)
        .order_by()
        .filter(Exists(Suppression.objects.filter(phone_number=OuterRef("phone_number"))))
        .exclude(Exists(Message.objects.filter(mailing_id=mailing.pk, client_id=OuterRef("pk"))))
        .count()
    )


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
