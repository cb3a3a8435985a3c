"""Migrations back and forth: the message count triggers count every message write at each step,
and the export permission is granted to Operators only.

Run in a process of its own on a database of its own (a new SQLite file, and a new PostgreSQL
database when the suite runs on PostgreSQL), so that migrating back touches no other test's tables.
"""

import contextlib
import json
import os
import subprocess
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from backoffice.processes import ROOT

# Writes messages and reads the counts the triggers kept, with migrations in between. At 0008 the
# messages are written through that migration's models; the counts are read with SQL, since the
# model's `day` column exists only from 0009.
SCRIPT = """
import json
import django
django.setup()
from datetime import timedelta
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from mailings.models import Mailing, Message

def counts():
    with connection.cursor() as cursor:
        cursor.execute("SELECT status, sum(delta) FROM mailings_messagecount GROUP BY status HAVING sum(delta) <> 0")
        return {status: int(total) for status, total in cursor.fetchall()}

def undated():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM mailings_messagecount WHERE day IS NULL")
        return cursor.fetchone()[0]

def message(mailing, phone, at=None):
    # At an old migration, that migration's models (the current ones have columns it lacks).
    models = MigrationExecutor(connection).loader.project_state(("mailings", at)).apps if at else django.apps.apps
    client = models.get_model("mailings", "Client").objects.create(
        phone_number=phone, operator_code="900", timezone="UTC"
    )
    return models.get_model("mailings", "Message").objects.create(mailing_id=mailing.pk, client_id=client.pk)

now = timezone.now()
seen = {}
call_command("migrate", verbosity=0)
mailing = Mailing.objects.create(start_datetime=now, end_datetime=now + timedelta(hours=1), message_text="hi")
first = message(mailing, "79000000001")
seen["latest"] = counts()
call_command("migrate", "mailings", "0008", verbosity=0)
Message.objects.filter(pk=first.pk).update(status="sent")
second = message(mailing, "79000000002", at="0008_statistics_permission")
seen["0008"] = counts()
call_command("migrate", verbosity=0)
Message.objects.filter(pk=second.pk).update(status="failed")
seen["latest again"] = counts()
seen["undated"] = undated()
print(json.dumps(seen))
"""


# Which groups hold `export_client`: on a fresh database, after going back before it, after coming
# forward again, and on a database where an administrator had granted it to Operators already.
EXPORT_SCRIPT = """
import json
import django
django.setup()
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

def holders():
    return sorted(Group.objects.filter(permissions__codename="export_client").values_list("name", flat=True))

seen = {}
call_command("migrate", verbosity=0)
seen["fresh"] = holders()
call_command("migrate", "mailings", "0015", verbosity=0)
seen["0015"] = holders()
call_command("migrate", verbosity=0)
seen["forward again"] = holders()
call_command("migrate", "mailings", "0015", verbosity=0)
Group.objects.get(name="Operators").permissions.add(Permission.objects.get(codename="export_client"))
call_command("migrate", verbosity=0)
seen["granted by hand before"] = holders()
print(json.dumps(seen))
"""
EXPORT_EXPECTED = {
    "fresh": ["Operators"],
    "0015": [],
    "forward again": ["Operators"],
    "granted by hand before": ["Operators"],
}


def _run(database_url: str, script: str = SCRIPT) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "backoffice.settings_test"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


@contextlib.contextmanager
def _new_postgres_database():
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    base = urlsplit(_postgres_url())
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = urlunsplit(base._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(base._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


EXPECTED = {
    "latest": {"pending": 1},
    "0008": {"pending": 1, "sent": 1},
    "latest again": {"sent": 1, "failed": 1},
    "undated": 0,
}


class TestMessageCountTriggers:
    def test_they_count_every_write_back_and_forth_on_sqlite(self, tmp_path):
        assert _run(f"sqlite:///{tmp_path / 'db.sqlite3'}") == EXPECTED

    @pytest.mark.skipif(_postgres_url() is None, reason="the suite runs on SQLite")
    def test_they_count_every_write_back_and_forth_on_postgresql(self):
        with _new_postgres_database() as url:
            assert _run(url) == EXPECTED


class TestExportPermission:
    def test_operators_get_it_and_viewers_do_not_back_and_forth_on_sqlite(self, tmp_path):
        assert _run(f"sqlite:///{tmp_path / 'db.sqlite3'}", EXPORT_SCRIPT) == EXPORT_EXPECTED

    @pytest.mark.skipif(_postgres_url() is None, reason="the suite runs on SQLite")
    def test_operators_get_it_and_viewers_do_not_back_and_forth_on_postgresql(self):
        with _new_postgres_database() as url:
            assert _run(url, EXPORT_SCRIPT) == EXPORT_EXPECTED
