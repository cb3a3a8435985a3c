"""Thin Celery tasks: parse arguments, call the engine."""

import logging

from celery import shared_task

from mailings.sending import batch, processor
from mailings.sending.circuit import Circuit
from mailings.sending.config import SendingConfig
from mailings.sending.dispatch import dispatch_due

logger = logging.getLogger(__name__)

_circuit: Circuit | None = None


def _process_circuit(config: SendingConfig) -> Circuit:
    """One circuit handle per worker process: it remembers this process's run of failures."""
    global _circuit
    if _circuit is None:
        _circuit = Circuit(config.circuit)
    return _circuit


@shared_task(name="mailings.tasks.process_active_mailings", ignore_result=True)
def process_active_mailings() -> dict[str, int]:
    return processor.process_active_mailings()


# acks_late is safe: a batch redelivered after a crash claims only rows still carrying its token.
@shared_task(name="mailings.tasks.send_batch", acks_late=True, ignore_result=True)
def send_batch(*, mailing_id: int, message_ids: list[int], token: int) -> dict[str, int]:
    config = SendingConfig.from_settings()
    counts = batch.send_batch(
        mailing_id=mailing_id, message_ids=message_ids, token=token, config=config, circuit=_process_circuit(config)
    )
    dispatch_due(config=config)  # keep the queue topped up between ticks
    return counts


@shared_task(name="mailings.tasks.send_daily_report", ignore_result=True)
def send_daily_report() -> int:
    from mailings.reports import daily_report_send

    return daily_report_send()
