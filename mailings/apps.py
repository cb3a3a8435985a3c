from django.apps import AppConfig


class MailingsConfig(AppConfig):
    name = "mailings"
    verbose_name = "Mailings"

    def ready(self) -> None:
        # Imported for its side effect (it registers `__any` on integer and char fields) in
        # ready(), where Django runs app start-up code once in every process (web, worker,
        # manage.py), before any query is built.
        from mailings import lookups  # noqa: F401
