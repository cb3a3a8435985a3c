"""`python manage.py load_demo`: demo clients and mailings, once (used by `make run` unless DEMO=0)."""

from django.core.management.base import BaseCommand, CommandError

from mailings.demo import demo_data_load


class Command(BaseCommand):
    help = "Load a few thousand demo clients and two mailings (one running, one in the future), once."

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=3000)

    def handle(self, *args, clients: int, **options):
        if not 1 <= clients <= 1_000_000:
            raise CommandError("--clients must be between 1 and 1,000,000")
        mailings = demo_data_load(clients=clients)
        if not mailings:
            self.stdout.write("Demo data: loaded already.")
            return
        running, future = mailings
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data: {clients} clients; mailing #{running.pk} sending now, "
                f"mailing #{future.pk} starting {future.start_datetime:%Y-%m-%d %H:%M} UTC."
            )
        )
