"""django-celery-beat's periodic task page is for superusers; operators change the tick on the
Sending schedule page (tests/admin/test_navigation.py) and may only read this one."""

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

pytestmark = pytest.mark.django_db

WHAT_IT_RUNS = ("name", "task", "queue", "args", "kwargs", "exchange", "routing_key", "headers", "description")


@pytest.fixture
def task() -> PeriodicTask:
    return PeriodicTask.objects.get(name="Process active mailings")


def url(task: PeriodicTask) -> str:
    return f"/admin/django_celery_beat/periodictask/{task.pk}/change/"


def test_an_operator_reads_the_stock_page_without_a_form(operator, task):
    response = operator.get(url(task))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="_save"' not in page
    assert "Process active mailings" in page
    assert 'name="action"' not in operator.get("/admin/django_celery_beat/periodictask/").content.decode()


def test_an_operators_post_to_the_stock_form_changes_nothing(operator, task):
    every_30s, _ = IntervalSchedule.objects.get_or_create(every=30, period=IntervalSchedule.SECONDS)
    before = PeriodicTask.objects.values("enabled", "interval_id", *WHAT_IT_RUNS).get(pk=task.pk)
    response = operator.post(url(task), {"interval": every_30s.pk, "name": "renamed", "queue": "nobody-reads-this"})
    assert response.status_code == 403
    assert PeriodicTask.objects.values("enabled", "interval_id", *WHAT_IT_RUNS).get(pk=task.pk) == before


def test_a_superuser_keeps_the_whole_form(admin_client, task):
    fields = set(admin_client.get(url(task)).context["adminform"].form.fields)
    assert {"name", "task", "queue", "args", "kwargs", "enabled", "interval", "crontab"} <= fields
