"""The periodic task page: operators change when a task runs and whether it does; the rest is for superusers."""

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

pytestmark = pytest.mark.django_db

WHAT_IT_RUNS = ("name", "task", "queue", "args", "kwargs", "exchange", "routing_key", "headers", "description")


@pytest.fixture
def task() -> PeriodicTask:
    return PeriodicTask.objects.get(name="Process active mailings")


def url(task: PeriodicTask) -> str:
    return f"/admin/django_celery_beat/periodictask/{task.pk}/change/"


def test_an_operator_gets_the_interval_and_enabled_only(operator, task):
    response = operator.get(url(task))
    assert response.status_code == 200
    assert set(response.context["adminform"].form.fields) == {"enabled", "interval"}
    assert "Process active mailings" in response.content.decode()  # shown, not editable


def test_an_operators_post_changes_nothing_else(operator, task):
    every_30s, _ = IntervalSchedule.objects.get_or_create(every=30, period=IntervalSchedule.SECONDS)
    before = PeriodicTask.objects.values(*WHAT_IT_RUNS).get(pk=task.pk)
    response = operator.post(
        url(task),
        {
            "interval": every_30s.pk,  # "enabled" left out: unchecked
            "name": "renamed",
            "task": "mailings.tasks.send_daily_report",
            "regtask": "mailings.tasks.send_daily_report",
            "queue": "nobody-reads-this",
            "exchange": "elsewhere",
            "routing_key": "elsewhere",
            "headers": '{"x": 1}',
            "args": "[1]",
            "kwargs": '{"a": 1}',
            "description": "changed",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    task.refresh_from_db()
    assert (task.enabled, task.interval_id) == (False, every_30s.pk)
    assert PeriodicTask.objects.values(*WHAT_IT_RUNS).get(pk=task.pk) == before


def test_a_superuser_keeps_the_whole_form(admin_client, task):
    fields = set(admin_client.get(url(task)).context["adminform"].form.fields)
    assert {"name", "task", "queue", "args", "kwargs", "enabled", "interval", "crontab"} <= fields
