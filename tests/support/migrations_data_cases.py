"""Cases that tests/test_migrations_data.py runs in pytests of their own, in a set order (pytest-django
runs the plain database tests first, then the transactional ones, each group in the order given).

A plain test records the migrations' data of the freshly made test database; a transactional test
changes all of it; the tests after it, in the same run and in the next `--reuse-db` run, want it back
as recorded, with the same ids.
"""

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django_celery_beat.models import PeriodicTask


@pytest.fixture
def record(tmp_path_factory) -> Path:
    """A file beside the `--basetemp` that tests/test_migrations_data.py gives each run (each run clears
    its basetemp, not what is beside it)."""
    return tmp_path_factory.getbasetemp().parent / "migrations-data.json"


def migrations_data() -> dict:
    return {
        "content types": list(ContentType.objects.order_by("id").values_list("id", "app_label", "model")),
        "permissions": list(Permission.objects.order_by("id").values_list("id", "content_type_id", "codename")),
        "groups": list(Group.objects.order_by("id", "permissions").values_list("id", "name", "permissions")),
        "periodic tasks": list(PeriodicTask.objects.order_by("id").values_list("id", "name", "task", "enabled")),
    }


def as_recorded(data: dict) -> dict:
    return json.loads(json.dumps(data))


@pytest.mark.django_db
def test_record_the_migrations_data(record):
    data = migrations_data()
    assert data["groups"]
    assert data["periodic tasks"]
    record.write_text(json.dumps(data))


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_changes_all_of_it():
    Group.objects.all().delete()
    PeriodicTask.objects.all().delete()
    ContentType.objects.all().delete()
    Group.objects.create(name="Made by a test")


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_after_it_finds_it(record):
    assert as_recorded(migrations_data()) == json.loads(record.read_text())


@pytest.mark.django_db
def test_a_test_in_the_next_run_finds_it(record):
    assert as_recorded(migrations_data()) == json.loads(record.read_text())
