"""`python manage.py beat_health`: exit 0 if beat sent the processing tick lately (a container health check).

Beat with the database scheduler writes each task's last run to the database every
few minutes (celery's `beat_sync_every`, 3 minutes by default), so the allowed age
is generous: the larger of `--max-age` and three intervals of the tick.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from mailings.selectors import periodic_task_processing


class Command(BaseCommand):
    help = "Exit 0 if beat has sent the processing tick recently, 1 (with the reason) if not."

    def add_arguments(self, parser):
        parser.add_argument("--max-age", type=int, default=300, help="seconds (default 300)")

    def handle(self, *args, max_age: int, **options):
        task = periodic_task_processing()
        if task is None or not task.enabled:
            self.stdout.write("The processing task is disabled or missing: nothing to check.")
            return
        interval = task.interval.schedule.run_every.total_seconds() if task.interval else 0
        limit = max(max_age, 3 * interval)
        if task.last_run_at is None:
            raise CommandError(f"Beat has never sent {task.name!r}.")
        age = (timezone.now() - task.last_run_at).total_seconds()
        if age > limit:
            raise CommandError(f"Beat last sent {task.name!r} {age:.0f}s ago (more than {limit:.0f}s).")
        self.stdout.write(f"Beat sent {task.name!r} {age:.0f}s ago.")
