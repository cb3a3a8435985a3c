"""The delivery log's phone search and sort, and its status filter: indexes on
(phone_number, id) and (status, id). The mailing's own index goes: (mailing, id) and
(mailing, client) serve every query it did.

Built CONCURRENTLY on PostgreSQL, so that a table of millions of messages keeps taking
writes (the sending goes on) while they are built; outside a transaction for that reason.
"""

import django.db.models.deletion
from django.db import migrations, models


class AddIndexWithoutLocking(migrations.AddIndex):
    """`AddIndex`, built concurrently on PostgreSQL (SQLite has no such thing, nor needs it)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.add_index(model, self.index, concurrently=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, self.index, concurrently=True)


class DropIndexOnPostgreSQL(migrations.AlterField):
    """The field loses its index on PostgreSQL. SQLite keeps it: there, altering a field rebuilds
    the table, and the rebuild would drop the message-count triggers (migration 0005)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("mailings", "0014_ascii_digits"),
    ]

    operations = [
        AddIndexWithoutLocking(
            model_name="message",
            index=models.Index(fields=["phone_number", "id"], name="message_phone_id_idx"),
        ),
        AddIndexWithoutLocking(
            model_name="message",
            index=models.Index(fields=["status", "id"], name="message_status_id_idx"),
        ),
        DropIndexOnPostgreSQL(
            model_name="message",
            name="mailing",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="messages",
                to="mailings.mailing",
            ),
        ),
    ]
