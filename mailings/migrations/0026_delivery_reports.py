"""Delivery reports: a message records what its provider reported (delivery_status, reported_at,
delivered_at, delivery_error), and triggers count messages per mailing and delivery status
(models.DeliveryCount) the way the message count triggers count statuses.

Only rows whose delivery status is not `unknown` are counted, so claims and sends (every message
`unknown`) append nothing. PostgreSQL: statement-level triggers with transition tables, one
aggregated insert per statement; SQLite: row-level triggers. On SQLite adding a column to the
message table rebuilds it, which drops its triggers: both directions install the live count and
per-minute triggers again (0024's), and the delivery count triggers go before the columns do.
"""

import importlib

from django.db import migrations, models

_PARTS = importlib.import_module("mailings.migrations.0024_client_attributes_and_parts")

_KNOWN = "delivery_status <> 'unknown'"
POSTGRES = [
    f"""CREATE FUNCTION mailings_delivery_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO mailings_deliverycount (mailing_id, delivery_status, delta)
          SELECT mailing_id, delivery_status, count(*) FROM new_rows WHERE {_KNOWN}
          GROUP BY mailing_id, delivery_status;
          RETURN NULL;
        END $$""",
    f"""CREATE FUNCTION mailings_delivery_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO mailings_deliverycount (mailing_id, delivery_status, delta)
          SELECT mailing_id, delivery_status, sum(change) FROM (
              SELECT mailing_id, delivery_status, -1 AS change FROM old_rows WHERE {_KNOWN}
              UNION ALL
              SELECT mailing_id, delivery_status, 1 FROM new_rows WHERE {_KNOWN}
          ) AS changes
          GROUP BY mailing_id, delivery_status HAVING sum(change) <> 0;
          RETURN NULL;
        END $$""",
    f"""CREATE FUNCTION mailings_delivery_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO mailings_deliverycount (mailing_id, delivery_status, delta)
          SELECT mailing_id, delivery_status, -count(*) FROM old_rows WHERE {_KNOWN}
          GROUP BY mailing_id, delivery_status;
          RETURN NULL;
        END $$""",
    """CREATE TRIGGER mailings_delivery_count_insert AFTER INSERT ON mailings_message
       REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mailings_delivery_count_insert()""",
    """CREATE TRIGGER mailings_delivery_count_update AFTER UPDATE ON mailings_message
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION mailings_delivery_count_update()""",
    """CREATE TRIGGER mailings_delivery_count_delete AFTER DELETE ON mailings_message
       REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION mailings_delivery_count_delete()""",
]
_OPS = ("insert", "update", "delete")
POSTGRES_DROP = [
    *(f"DROP TRIGGER IF EXISTS mailings_delivery_count_{op} ON mailings_message" for op in _OPS),
    *(f"DROP FUNCTION IF EXISTS mailings_delivery_count_{op}()" for op in _OPS),
]

_INSERT = "INSERT INTO mailings_deliverycount (mailing_id, delivery_status, delta)"
SQLITE = [
    f"""CREATE TRIGGER mailings_delivery_count_insert AFTER INSERT ON mailings_message
        WHEN NEW.{_KNOWN} BEGIN
          {_INSERT} VALUES (NEW.mailing_id, NEW.delivery_status, 1);
        END""",
    f"""CREATE TRIGGER mailings_delivery_count_update AFTER UPDATE OF delivery_status, mailing_id ON mailings_message
        WHEN OLD.delivery_status <> NEW.delivery_status OR OLD.mailing_id <> NEW.mailing_id BEGIN
          {_INSERT} SELECT OLD.mailing_id, OLD.delivery_status, -1 WHERE OLD.{_KNOWN};
          {_INSERT} SELECT NEW.mailing_id, NEW.delivery_status, 1 WHERE NEW.{_KNOWN};
        END""",
    f"""CREATE TRIGGER mailings_delivery_count_delete AFTER DELETE ON mailings_message
        WHEN OLD.{_KNOWN} BEGIN
          {_INSERT} VALUES (OLD.mailing_id, OLD.delivery_status, -1);
        END""",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS mailings_delivery_count_{op}" for op in _OPS]


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = POSTGRES
    elif vendor == "sqlite":
        _PARTS.install(apps, schema_editor)  # the rebuild dropped them
        statements = SQLITE
    else:
        raise NotImplementedError(f"delivery count triggers for {vendor}")
    for statement in statements:
        schema_editor.execute(statement)


def uninstall(apps, schema_editor):
    for statement in POSTGRES_DROP if schema_editor.connection.vendor == "postgresql" else SQLITE_DROP:
        schema_editor.execute(statement)


def reinstall_on_sqlite(apps, schema_editor):
    """Going back: removing the columns rebuilt the SQLite table; put 0024's triggers back."""
    if schema_editor.connection.vendor == "sqlite":
        _PARTS.install(apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('mailings', '0025_message_provider'),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, reinstall_on_sqlite),
        migrations.CreateModel(
            name='DeliveryCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('mailing_id', models.BigIntegerField()),
                ('delivery_status', models.CharField(max_length=16)),
                ('delta', models.BigIntegerField()),
            ],
        ),
        migrations.AddField(
            model_name='message',
            name='delivered_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='message',
            name='delivery_error',
            field=models.CharField(blank=True, db_default='', default='', editable=False, max_length=100),
        ),
        migrations.AddField(
            model_name='message',
            name='delivery_status',
            field=models.CharField(choices=[('unknown', 'Unknown (no report yet)'), ('delivered', 'Delivered'), ('undelivered', 'Undelivered'), ('no_report', 'Unknown for good (no report in time)')], db_default='unknown', default='unknown', editable=False, max_length=16),
        ),
        migrations.AddField(
            model_name='message',
            name='reported_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(condition=models.Q(('delivery_status', 'unknown'), ('status', 'sent')), fields=['sent_at'], name='message_report_due_idx'),
        ),
        migrations.AddIndex(
            model_name='deliverycount',
            index=models.Index(fields=['mailing_id', 'delivery_status'], name='deliverycount_mailing_idx'),
        ),
        migrations.RunPython(install, uninstall),
    ]
