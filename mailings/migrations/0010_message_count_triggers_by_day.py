"""The message count triggers now record the (UTC) day of each change, for the per-day chart.

Same triggers as 0005; only the functions (PostgreSQL) or trigger bodies (SQLite) change. This
is the live trigger SQL (see models.MessageCount). Going back restores 0005's functions on
PostgreSQL and drops the SQLite triggers, which name the day: 0009's reverse drops the column
and puts 0005's SQLite triggers back once the table is rebuilt.
"""

import importlib

from django.db import migrations

POSTGRES = [
    """CREATE OR REPLACE FUNCTION mailings_message_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO mailings_messagecount (mailing_id, status, day, delta)
         SELECT mailing_id, status, (now() AT TIME ZONE 'UTC')::date, count(*)
         FROM new_rows GROUP BY mailing_id, status;
         RETURN NULL;
       END $$""",
    """CREATE OR REPLACE FUNCTION mailings_message_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO mailings_messagecount (mailing_id, status, day, delta)
         SELECT mailing_id, status, (now() AT TIME ZONE 'UTC')::date, sum(change) FROM (
             SELECT mailing_id, status, -1 AS change FROM old_rows
             UNION ALL
             SELECT mailing_id, status, 1 FROM new_rows
         ) AS changes
         GROUP BY mailing_id, status HAVING sum(change) <> 0;
         RETURN NULL;
       END $$""",
    """CREATE OR REPLACE FUNCTION mailings_message_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO mailings_messagecount (mailing_id, status, day, delta)
         SELECT mailing_id, status, (now() AT TIME ZONE 'UTC')::date, -count(*)
         FROM old_rows GROUP BY mailing_id, status;
         RETURN NULL;
       END $$""",
]

_TODAY = "date('now')"
SQLITE = [
    "DROP TRIGGER IF EXISTS mailings_message_count_insert",
    "DROP TRIGGER IF EXISTS mailings_message_count_update",
    "DROP TRIGGER IF EXISTS mailings_message_count_delete",
    f"""CREATE TRIGGER mailings_message_count_insert AFTER INSERT ON mailings_message BEGIN
          INSERT INTO mailings_messagecount (mailing_id, status, day, delta)
          VALUES (NEW.mailing_id, NEW.status, {_TODAY}, 1);
        END""",
    f"""CREATE TRIGGER mailings_message_count_update AFTER UPDATE OF status, mailing_id ON mailings_message
        WHEN OLD.status <> NEW.status OR OLD.mailing_id <> NEW.mailing_id BEGIN
          INSERT INTO mailings_messagecount (mailing_id, status, day, delta)
          VALUES (OLD.mailing_id, OLD.status, {_TODAY}, -1);
          INSERT INTO mailings_messagecount (mailing_id, status, day, delta)
          VALUES (NEW.mailing_id, NEW.status, {_TODAY}, 1);
        END""",
    f"""CREATE TRIGGER mailings_message_count_delete AFTER DELETE ON mailings_message BEGIN
          INSERT INTO mailings_messagecount (mailing_id, status, day, delta)
          VALUES (OLD.mailing_id, OLD.status, {_TODAY}, -1);
        END""",
]


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"message count triggers for {vendor}")
    for statement in POSTGRES if vendor == "postgresql" else SQLITE:
        schema_editor.execute(statement)


def restore_dayless(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        before = importlib.import_module("mailings.migrations.0005_message_count_triggers")
        for statement in before.POSTGRES_FUNCTIONS:
            schema_editor.execute(statement.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    else:
        for statement in SQLITE[:3]:  # the drops
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("mailings", "0009_message_count_day")]

    operations = [migrations.RunPython(install, restore_dayless)]
