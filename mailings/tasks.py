"""Thin Celery tasks: parse arguments, call the engine.

Each task imports what it calls inside its body: the engine and the services import
this module at module level to dispatch the tasks (`send_batch_task.delay(...)`), so
an import of theirs at the top here would close a circle.
"""

from celery import shared_task


@shared_task(name="mailings.tasks.process_active_mailings", ignore_result=True)
def process_active_mailings() -> dict[str, int]:
    from mailings.sending.processor import mailings_process

    return mailings_process()


# acks_late is safe: a batch redelivered after a crash claims only rows still carrying its token.
@shared_task(name="mailings.tasks.send_batch", acks_late=True, ignore_result=True)
def send_batch(*, mailing_id: int, message_ids: list[int], token: int) -> dict[str, int]:
    from mailings.sending.batch import batch_send
    from mailings.sending.config import SendingConfig
    from mailings.sending.dispatch import dispatch_due
    from mailings.sending.runtime import process_circuits

    config = SendingConfig.from_settings()
    counts = batch_send(
        mailing_id=mailing_id, message_ids=message_ids, token=token, config=config, circuits=process_circuits(config)
    )
    dispatch_due(config=config)  # keep the queue topped up between ticks
    return counts


@shared_task(name="mailings.tasks.send_daily_report", ignore_result=True)
def send_daily_report() -> int:
    from mailings.reports import daily_report_send

    return daily_report_send()
