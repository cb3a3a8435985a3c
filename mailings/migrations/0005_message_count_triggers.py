"""Triggers that keep mailings_messagecount in step with mailings_message (see MessageCount).

PostgreSQL: statement-level triggers with transition tables, one aggregated insert
per statement (a fan-out of a million rows adds a few rows, not a million).
SQLite (development): row-level triggers.
"""

from django.db import migrations

POSTGRES_FUNCTIONS = [
    """CREATE FUNCTION mailings_message_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO mailings_messagecount (mailing_id, status, delta)
         SELECT mailing_id, status, count(*) FROM new_rows GROUP BY mailing_id, status;
         RETURN NULL;
       END $$""",
    """CREATE FUNCTION mailings_message_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO mailings_messagecount (mailing_id, status, delta)
         SELECT mailing_id, status, sum(change) FROM (
             SELECT mailing_id, status, -1 AS change FROM old_rows
             UNION ALL
             SELECT mailing_id, status, 1 FROM new_rows
         ) AS changes
         GROUP BY mailing_id, status HAVING sum(change) <> 0;
         RETURN NULL;
       END $$""",
    """CREATE FUNCTION mailings_message_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO mailings_messagecount (mailing_id, status, delta)
         SELECT mailing_id, status, -count(*) FROM old_rows GROUP BY mailing_id, status;
         RETURN NULL;
       END $$""",
]
POSTGRES = [
    *POSTGRES_FUNCTIONS,
    """CREATE TRIGGER mailings_message_count_insert AFTER INSERT ON mailings_message
       REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mailings_message_count_insert()""",
    """CREATE TRIGGER mailings_message_count_update AFTER UPDATE ON mailings_message
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION mailings_message_count_update()""",
    """CREATE TRIGGER mailings_message_count_delete AFTER DELETE ON mailings_message
       REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION mailings_message_count_delete()""",
]
POSTGRES_DROP = [
    *(f"DROP TRIGGER IF EXISTS mailings_message_count_{op} ON mailings_message" for op in ("insert", "update", "delete")),
    *(f"DROP FUNCTION IF EXISTS mailings_message_count_{op}()" for op in ("insert", "update", "delete")),
]

SQLITE = [
    """CREATE TRIGGER mailings_message_count_insert AFTER INSERT ON mailings_message BEGIN
         INSERT INTO mailings_messagecount (mailing_id, status, delta) VALUES (NEW.mailing_id, NEW.status, 1);
       END""",
    """CREATE TRIGGER mailings_message_count_update AFTER UPDATE OF status, mailing_id ON mailings_message
       WHEN OLD.status <> NEW.status OR OLD.mailing_id <> NEW.mailing_id BEGIN
         INSERT INTO mailings_messagecount (mailing_id, status, delta) VALUES (OLD.mailing_id, OLD.status, -1);
         INSERT INTO mailings_messagecount (mailing_id, status, delta) VALUES (NEW.mailing_id, NEW.status, 1);
       END""",
    """CREATE TRIGGER mailings_message_count_delete AFTER DELETE ON mailings_message BEGIN
         INSERT INTO mailings_messagecount (mailing_id, status, delta) VALUES (OLD.mailing_id, OLD.status, -1);
       END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS mailings_message_count_insert",
    "DROP TRIGGER IF EXISTS mailings_message_count_update",
    "DROP TRIGGER IF EXISTS mailings_message_count_delete",
]

BACKFILL = """
INSERT INTO mailings_messagecount (mailing_id, status, delta)
SELECT mailing_id, status, count(*) FROM mailings_message GROUP BY mailing_id, status
"""


def _statements(vendor: str, create: bool) -> list[str]:
    if vendor == "postgresql":
        return POSTGRES if create else POSTGRES_DROP
    if vendor == "sqlite":
        return SQLITE if create else SQLITE_DROP
    raise NotImplementedError(f"message count triggers for {vendor}")


def install(apps, schema_editor):
    for statement in _statements(schema_editor.connection.vendor, create=True):
        schema_editor.execute(statement)
    schema_editor.execute(BACKFILL)


def uninstall(apps, schema_editor):
    for statement in _statements(schema_editor.connection.vendor, create=False):
        schema_editor.execute(statement)
    schema_editor.execute("DELETE FROM mailings_messagecount")


class Migration(migrations.Migration):
    dependencies = [("mailings", "0004_message_counts")]

    operations = [migrations.RunPython(install, uninstall)]
