"""Create a development superuser once and print how to log in (used by `make run`)."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create the development admin user if no superuser exists, and print its login."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options):
        if not settings.DEBUG:
            raise CommandError("ensure_dev_admin is for development (DEBUG=1); use createsuperuser in production.")
        password_file = settings.VAR_DIR / "dev-admin-password"
        users = get_user_model().objects
        if not users.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            users.create_superuser(username=username, email=f"{username}@localhost", password=password)
            password_file.write_text(f"{username} {password}\n")
            password_file.chmod(0o600)
            self.stdout.write(self.style.SUCCESS(f"Created the development admin user {username!r}."))
        if password_file.exists():
            login, password = password_file.read_text().split()
            if users.filter(username=login, is_superuser=True).exists():
                self.stdout.write(f"Admin login: {login} / {password}")
                return
        self.stdout.write("A superuser exists already; log in with its password.")
