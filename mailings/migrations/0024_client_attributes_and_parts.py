"""Clients carry attributes for personalised texts; a message records its SMS parts when sent.

The message count triggers also sum those parts (models.MessageCount.parts), so statistics read
the parts sent per mailing from the same few rows as the counts. This is the live trigger SQL;
going back restores 0010's. On SQLite adding a column to the message table rebuilds it, which
drops its triggers: both directions install the count and per-minute triggers again.
"""

import importlib

from django.db import migrations, models

_BY_DAY = importlib.import_module("mailings.migrations.0010_message_count_triggers_by_day")
_MINUTES = importlib.import_module("mailings.migrations.0019_message_minutes")

POSTGRES = [
    """CREATE OR REPLACE FUNCTION mailings_message_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO mailings_messagecount (mailing_id, status, day, delta, parts)
         SELECT mailing_id, status, (now() AT TIME ZONE 'UTC')::date, count(*), sum(parts)
         FROM new_rows GROUP BY mailing_id, status;
         RETURN NULL;
       END $$""",
    """CREATE OR REPLACE FUNCTION mailings_message_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO mailings_messagecount (mailing_id, status, day, delta, parts)
         SELECT mailing_id, status, (now() AT TIME ZONE 'UTC')::date, sum(change), sum(part_change) FROM (
             SELECT mailing_id, status, -1 AS change, -parts AS part_change FROM old_rows
             UNION ALL
             SELECT mailing_id, status, 1, parts FROM new_rows
         ) AS changes
         GROUP BY mailing_id, status HAVING sum(change) <> 0 OR sum(part_change) <> 0;
         RETURN NULL;
       END $$""",
    """CREATE OR REPLACE FUNCTION mailings_message_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO mailings_messagecount (mailing_id, status, day, delta, parts)
         SELECT mailing_id, status, (now() AT TIME ZONE 'UTC')::date, -count(*), -sum(parts)
         FROM old_rows GROUP BY mailing_id, status;
         RETURN NULL;
       END $$""",
]

_TODAY = "date('now')"
SQLITE = [
    *_BY_DAY.SQLITE[:3],  # the drops
    f"""CREATE TRIGGER mailings_message_count_insert AFTER INSERT ON mailings_message BEGIN
          INSERT INTO mailings_messagecount (mailing_id, status, day, delta, parts)
          VALUES (NEW.mailing_id, NEW.status, {_TODAY}, 1, NEW.parts);
        END""",
    f"""CREATE TRIGGER mailings_message_count_update AFTER UPDATE OF status, mailing_id, parts ON mailings_message
        WHEN OLD.status <> NEW.status OR OLD.mailing_id <> NEW.mailing_id OR OLD.parts <> NEW.parts BEGIN
          INSERT INTO mailings_messagecount (mailing_id, status, day, delta, parts)
          VALUES (OLD.mailing_id, OLD.status, {_TODAY}, -1, -OLD.parts);
          INSERT INTO mailings_messagecount (mailing_id, status, day, delta, parts)
          VALUES (NEW.mailing_id, NEW.status, {_TODAY}, 1, NEW.parts);
        END""",
    f"""CREATE TRIGGER mailings_message_count_delete AFTER DELETE ON mailings_message BEGIN
          INSERT INTO mailings_messagecount (mailing_id, status, day, delta, parts)
          VALUES (OLD.mailing_id, OLD.status, {_TODAY}, -1, -OLD.parts);
        END""",
]


def _sqlite_minutes(schema_editor):
    for statement in [*_MINUTES.SQLITE_DROP, *_MINUTES.SQLITE]:
        schema_editor.execute(statement)


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for statement in POSTGRES:
            schema_editor.execute(statement)
    elif vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)
        _sqlite_minutes(schema_editor)
    else:
        raise NotImplementedError(f"message count triggers for {vendor}")


def restore_partless(apps, schema_editor):
    _BY_DAY.install(apps, schema_editor)  # on SQLite too: a trigger naming `parts` would stop its removal


def reinstall_after_rebuild(apps, schema_editor):
    """Going back: removing the columns rebuilt the SQLite tables; put 0010's and 0019's triggers back."""
    if schema_editor.connection.vendor == "sqlite":
        _BY_DAY.install(apps, schema_editor)
        _sqlite_minutes(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('mailings', '0023_suppression_permissions'),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, reinstall_after_rebuild),
        migrations.AddField(
            model_name='client',
            name='attributes',
            field=models.JSONField(blank=True, db_default=models.Value({}, output_field=models.JSONField()), default=dict, help_text="Values a mailing's text may use, such as {first_name}: an object of name: text."),
        ),
        migrations.AddField(
            model_name='message',
            name='parts',
            field=models.PositiveSmallIntegerField(db_default=0, default=0, editable=False),
        ),
        migrations.AddField(
            model_name='messagecount',
            name='parts',
            field=models.BigIntegerField(db_default=0, default=0),
        ),
        migrations.RunPython(install, restore_partless),
    ]
