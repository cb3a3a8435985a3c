"""The delivery log's phone search and sort, and its status filter: indexes on
(phone_number, id) and (status, id). The mailing's own index goes: (mailing, id) and
(mailing, client) serve every query it did.

Built CONCURRENTLY on PostgreSQL, so that a table of millions of messages keeps taking
writes (the sending goes on) while they are built; outside a transaction for that reason.
"""

import django.db.models.deletion
from django.db import migrations, models


def _drop_invalid_leftover(schema_editor, index_name: str) -> None:
    """A CONCURRENTLY build that failed leaves an INVALID index of the same name behind: the next
    try starts clean instead of failing with "already exists"."""
    name = schema_editor.quote_name(index_name)
    schema_editor.execute(
        f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        f"WHERE c.relname = '{index_name}' AND NOT i.indisvalid) THEN EXECUTE 'DROP INDEX {name}'; END IF; END $$"
    )


class AddIndexWithoutLocking(migrations.AddIndex):
    """`AddIndex`, built concurrently on PostgreSQL (SQLite has no such thing, nor needs it)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            _drop_invalid_leftover(schema_editor, self.index.name)
            schema_editor.add_index(model, self.index, concurrently=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, self.index, concurrently=True)


class DropForeignKeyIndexWithoutLocking(migrations.AlterField):
    """The foreign key loses its own index: on PostgreSQL by DROP INDEX CONCURRENTLY alone. Django's
    AlterField would also drop and re-add the foreign key, checking every message while writes to
    the table wait. SQLite keeps the index: there, altering a field rebuilds the table, and the
    rebuild would drop the message-count triggers (migration 0005)."""

    def _index_name(self, schema_editor, model) -> str:
        field = model._meta.get_field(self.name)
        return schema_editor._create_index_name(model._meta.db_table, [field.column], suffix="")

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        model = from_state.apps.get_model(app_label, self.model_name)
        name = schema_editor.quote_name(self._index_name(schema_editor, model))
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        index = self._index_name(schema_editor, model)
        _drop_invalid_leftover(schema_editor, index)
        column = schema_editor.quote_name(model._meta.get_field(self.name).column)
        table = schema_editor.quote_name(model._meta.db_table)
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {schema_editor.quote_name(index)} ON {table} ({column})"
        )


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
        DropForeignKeyIndexWithoutLocking(
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
