"""The daily statistics e-mail, every day at 07:00 UTC; a superuser changes the time in the admin
(Periodic tasks), operators may disable it. Recipients come from DAILY_REPORT_RECIPIENTS."""

from django.db import migrations

TASK_NAME = "Daily statistics email"


def create_task(apps, schema_editor):
    from django.utils import timezone

    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="7", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "mailings.tasks.send_daily_report",
            "crontab": schedule,
            "description": "E-mails the statistics of the mailings processed in the last 24 hours "
            "to DAILY_REPORT_RECIPIENTS.",
        },
    )
    # Tell a running beat that the schedule changed (a migration writes past the model signals).
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def delete_task(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("mailings", "0010_message_count_triggers_by_day"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_task, delete_task)]
