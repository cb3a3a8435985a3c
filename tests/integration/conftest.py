"""Fixtures for tests that run the real thing: PostgreSQL, Redis, Celery processes, the sandbox."""

import os

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.integration.worker_logs import unexpected_errors
from tests.support.processes import Cluster, database_url


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "expected_log_errors(*patterns): error records a fault test provokes on purpose in its workers' or "
        "beat's logs (see tests/integration/worker_logs.py)",
    )


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
    # What the workers and beat wrote while the test ran: stopping them mid-task (SIGTERM to the
    # group, pool children included) writes errors of its own that say nothing of the product.
    log_sizes = {process: process.log_path.stat().st_size for process in started.processes}
    started.stop()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        for process in started.processes:
            print(f"--- {process.name} ({process.log_path}) ---\n{process.tail()}")
        return  # the failure is the news, and its processes' logs are printed above
    expected = [pattern for mark in request.node.iter_markers("expected_log_errors") for pattern in mark.args]
    errors = {
        f"{process.name} ({process.log_path})": unexpected_errors(process.log_path, expected, upto=size)
        for process, size in log_sizes.items()
        if "celery" in process.process.args  # the workers and beat
    }
    errors = {name: lines for name, lines in errors.items() if lines}
    assert not errors, f"errors in the logs of the workers or beat: {errors}"


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
