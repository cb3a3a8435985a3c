"""The clients' time zone index becomes (timezone, operator_code, tag): the guard rails ask
whether an audience has a client in some zones (mailings/guard_rails.py), one probe of it, and
the zone filter's skip scan reads its leading column as before.

Built and dropped CONCURRENTLY on PostgreSQL, so the clients table keeps taking writes;
outside a transaction for that reason.
"""

import importlib

from django.db import migrations, models

AddIndexWithoutLocking = importlib.import_module("mailings.migrations.0015_message_log_indexes").AddIndexWithoutLocking


class RemoveIndexWithoutLocking(migrations.RemoveIndex):
    """`RemoveIndex`, dropped concurrently on PostgreSQL."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = from_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            schema_editor.remove_index(model, index, concurrently=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = to_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            schema_editor.add_index(model, index, concurrently=True)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("mailings", "0017_message_text_in_parts"),
    ]

    operations = [
        AddIndexWithoutLocking(
            model_name="client",
            index=models.Index(fields=["timezone", "operator_code", "tag"], name="client_zone_audience_idx"),
        ),
        RemoveIndexWithoutLocking(model_name="client", name="client_timezone_idx"),
    ]
