from celery.signals import worker_process_init
from django.apps import AppConfig


class MailingsConfig(AppConfig):
    name = "mailings"
    verbose_name = "Mailings"

    def ready(self) -> None:
        # Both imported in ready(), where Django runs app start-up code once in every process
        # (web, worker, manage.py), before any query is built: `lookups` for its side effect
        # (it registers `__any` on integer and char fields), `runtime` to connect it below.
        from mailings import lookups  # noqa: F401
        from mailings.sending import liveness, runtime, worker_gc

        # A Celery worker forks its pool processes after this ran: each must drop the event
        # loop, database thread and circuit handle it inherited and make its own.
        worker_process_init.connect(runtime.forget_inherited, weak=False, dispatch_uid="mailings.runtime")
        # ... and its heartbeat thread, which did not come along: it starts its own.
        worker_process_init.connect(liveness.forget_inherited, weak=False, dispatch_uid="mailings.liveness")
        # ... and set its garbage collector for sending (see worker_gc: a fifth of its CPU otherwise).
        worker_process_init.connect(worker_gc.tune_worker_gc, weak=False, dispatch_uid="mailings.worker_gc")
