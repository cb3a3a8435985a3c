"""Fixtures for tests that run the real thing: PostgreSQL, Redis, Celery processes, the sandbox."""

import os

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.support.processes import Cluster


def database_url() -> str:
    """The URL of the test database pytest-django created (workers must use the same one)."""
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def cluster(transactional_db, tmp_path_factory, request):
    if connection.vendor != "postgresql":
        pytest.skip("integration tests need PostgreSQL: set DATABASE_URL (CI does)")
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(
        settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_TICK_QUEUE
    )
    log_dir = tmp_path_factory.mktemp(request.node.name[:40])
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings_test",
        "DATABASE_URL": database_url(),
        "CONN_MAX_AGE": "0",
    }
    started = Cluster(log_dir, env)
    yield started
    started.stop()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        for process in started.processes:
            print(f"--- {process.name} ({process.log_path}) ---\n{process.tail()}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def processing_every(seconds: int) -> None:
    """The periodic task the migration creates, on a short interval."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

    schedule, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update_or_create(
        name="Process active mailings",
        defaults={"task": "mailings.tasks.process_active_mailings", "interval": schedule, "enabled": True},
    )
    PeriodicTasks.update_changed()
