from django.apps import AppConfig


class MailingsConfig(AppConfig):
    name = "mailings"
    verbose_name = "Mailings"

    def ready(self) -> None:
        from mailings import lookups  # noqa: F401  (registers id__any)
