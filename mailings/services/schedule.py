"""The sending schedule: how often the processing tick runs, and whether it runs at all."""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from mailings.errors import ConflictError
from mailings.selectors import periodic_task_processing

logger = logging.getLogger(__name__)

TICK_SECONDS_MIN = 1
TICK_SECONDS_MAX = 3600


@transaction.atomic
def sending_schedule_update(*, every_seconds: int, enabled: bool) -> PeriodicTask:
    """Run the processing tick every `every_seconds` seconds, or not at all; beat follows
    without a restart (django-celery-beat marks the schedule changed on save)."""
    if not TICK_SECONDS_MIN <= every_seconds <= TICK_SECONDS_MAX:
        raise ValidationError(
            {"every_seconds": f"The interval is {TICK_SECONDS_MIN} to {TICK_SECONDS_MAX} seconds, not {every_seconds}."}
        )
    task = periodic_task_processing()
    if task is None:
        raise ConflictError("The periodic task that sends mailings is missing: run the migrations to create it again.")
    interval, _ = IntervalSchedule.objects.get_or_create(every=every_seconds, period=IntervalSchedule.SECONDS)
    # One schedule kind per task: a superuser may have given it another.
    task.interval, task.crontab, task.solar, task.clocked = interval, None, None, None
    task.enabled = enabled
    task.full_clean()
    task.save()
    logger.info("sending schedule changed", extra={"fields": f"every={every_seconds}s,enabled={enabled}"})
    return task
