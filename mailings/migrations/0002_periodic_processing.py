"""The periodic task that drives sending, so that it exists on every install.

Operators change its interval or disable it in the admin (Periodic tasks); beat
with the DatabaseScheduler picks the change up without a restart.
"""

from django.conf import settings
from django.db import migrations

TASK_NAME = "Process active mailings"


def create_task(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    every = getattr(settings, "SENDING_TICK_SECONDS", 10)
    schedule, _ = IntervalSchedule.objects.get_or_create(every=every, period="seconds")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "mailings.tasks.process_active_mailings",
            "interval": schedule,
            "description": "Starts mailings, sends due messages, retries, expires and finishes mailings.",
        },
    )
    # Tell a running beat that the schedule changed (a migration writes past the model signals).
    from django.utils import timezone

    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def delete_task(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("mailings", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_task, delete_task)]
