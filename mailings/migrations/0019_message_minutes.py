"""Messages that became sent or failed per minute (models.MessageMinute), kept by their own triggers.

The series starts empty: no backfill (the messages do not say when they failed, and ten million
rows are not read in a migration). PostgreSQL: statement-level triggers with transition tables,
one aggregated insert per statement; SQLite: row-level triggers. The minute is the UTC minute the
change happened (the transaction's start on PostgreSQL).
"""

from django.db import migrations, models

_STATUSES = "('sent', 'failed')"
_PG_MINUTE = "date_trunc('minute', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"

POSTGRES = [
    f"""CREATE FUNCTION mailings_message_minute_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO mailings_messageminute (mailing_id, status, minute, delta)
          SELECT mailing_id, status, {_PG_MINUTE}, count(*)
          FROM new_rows WHERE status IN {_STATUSES} GROUP BY mailing_id, status;
          RETURN NULL;
        END $$""",
    f"""CREATE FUNCTION mailings_message_minute_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO mailings_messageminute (mailing_id, status, minute, delta)
          SELECT mailing_id, status, {_PG_MINUTE}, sum(change) FROM (
              SELECT mailing_id, status, -1 AS change FROM old_rows WHERE status IN {_STATUSES}
              UNION ALL
              SELECT mailing_id, status, 1 FROM new_rows WHERE status IN {_STATUSES}
          ) AS changes
          GROUP BY mailing_id, status HAVING sum(change) <> 0;
          RETURN NULL;
        END $$""",
    """CREATE TRIGGER mailings_message_minute_insert AFTER INSERT ON mailings_message
       REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mailings_message_minute_insert()""",
    """CREATE TRIGGER mailings_message_minute_update AFTER UPDATE ON mailings_message
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION mailings_message_minute_update()""",
]
POSTGRES_DROP = [
    *(f"DROP TRIGGER IF EXISTS mailings_message_minute_{op} ON mailings_message" for op in ("insert", "update")),
    *(f"DROP FUNCTION IF EXISTS mailings_message_minute_{op}()" for op in ("insert", "update")),
]

_SQLITE_MINUTE = "strftime('%Y-%m-%d %H:%M:00', 'now')"
SQLITE = [
    f"""CREATE TRIGGER mailings_message_minute_insert AFTER INSERT ON mailings_message
        WHEN NEW.status IN {_STATUSES} BEGIN
          INSERT INTO mailings_messageminute (mailing_id, status, minute, delta)
          VALUES (NEW.mailing_id, NEW.status, {_SQLITE_MINUTE}, 1);
        END""",
    f"""CREATE TRIGGER mailings_message_minute_update AFTER UPDATE OF status, mailing_id ON mailings_message
        WHEN (OLD.status <> NEW.status OR OLD.mailing_id <> NEW.mailing_id)
          AND (OLD.status IN {_STATUSES} OR NEW.status IN {_STATUSES}) BEGIN
          INSERT INTO mailings_messageminute (mailing_id, status, minute, delta)
          SELECT OLD.mailing_id, OLD.status, {_SQLITE_MINUTE}, -1 WHERE OLD.status IN {_STATUSES};
          INSERT INTO mailings_messageminute (mailing_id, status, minute, delta)
          SELECT NEW.mailing_id, NEW.status, {_SQLITE_MINUTE}, 1 WHERE NEW.status IN {_STATUSES};
        END""",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS mailings_message_minute_insert", "DROP TRIGGER IF EXISTS mailings_message_minute_update"]


def _statements(vendor: str, create: bool) -> list[str]:
    if vendor == "postgresql":
        return POSTGRES if create else POSTGRES_DROP
    if vendor == "sqlite":
        return SQLITE if create else SQLITE_DROP
    raise NotImplementedError(f"message minute triggers for {vendor}")


def install(apps, schema_editor):
    for statement in _statements(schema_editor.connection.vendor, create=True):
        schema_editor.execute(statement)


def uninstall(apps, schema_editor):
    for statement in _statements(schema_editor.connection.vendor, create=False):
        schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('mailings', '0018_client_zone_audience_idx'),
    ]

    operations = [
        migrations.CreateModel(
            name='MessageMinute',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('mailing_id', models.BigIntegerField()),
                ('status', models.CharField(max_length=16)),
                ('minute', models.DateTimeField()),
                ('delta', models.BigIntegerField()),
            ],
            options={
                'indexes': [models.Index(fields=['mailing_id', 'minute'], name='messageminute_mailing_idx'), models.Index(fields=['minute'], name='messageminute_minute_idx')],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
