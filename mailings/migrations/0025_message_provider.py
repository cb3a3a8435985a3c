"""A message records the provider that took it (mailings/providers.py); every earlier one went
through `default`, the provider of SENDING_API_URL.

On SQLite adding a column to the message table rebuilds it, which drops its triggers: both
directions install the live count and per-minute triggers again (0024's).
"""

import importlib

from django.db import migrations, models

_PARTS = importlib.import_module("mailings.migrations.0024_client_attributes_and_parts")


def reinstall_on_sqlite(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        _PARTS.install(apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ("mailings", "0024_client_attributes_and_parts"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, reinstall_on_sqlite),
        migrations.AddField(
            model_name="message",
            name="provider",
            field=models.CharField(db_default="default", default="default", editable=False, max_length=40),
        ),
        migrations.RunPython(reinstall_on_sqlite, migrations.RunPython.noop),
    ]
