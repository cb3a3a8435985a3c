"""Retrying a mailing's failed messages: back to waiting with fresh attempts, while the mailing
has not ended. Only `failed` rows move (one UPDATE filtered on that status), so a message sent,
waiting or on the wire is never queued again by it: nothing goes out twice because of a retry."""

import logging

from django.db import transaction
from django.utils.timezone import now

from mailings.errors import ConflictError
from mailings.models import Mailing, Message
from mailings.services.history import ADMIN, mailing_history_record
from mailings.services.mailings import mailings_process_soon

logger = logging.getLogger(__name__)


@transaction.atomic
def mailing_retry_failed(*, mailing: Mailing, actor=None, via: str = ADMIN) -> int:
    """Put the mailing's failed messages back to pending (attempts 0, due now); how many moved.
    A mailing finished early (nothing left to send, its end still ahead) runs again, so that the
    tick dispatches them. ConflictError when it has ended, is cancelled, or has nothing failed."""
    mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
    moment = now()
    if mailing.status == Mailing.Status.CANCELLED:
        raise ConflictError(f"Mailing {mailing.pk} is cancelled: its failed messages cannot be retried.")
    if mailing.end_datetime <= moment:
        raise ConflictError(
            f"Mailing {mailing.pk} ended at {mailing.end_datetime.isoformat()}: its failed messages cannot be "
            "retried (clone it to send again)."
        )
    retried = Message.objects.filter(mailing_id=mailing.pk, status=Message.Status.FAILED).update(
        status=Message.Status.PENDING,
        attempts=0,
        next_attempt_at=moment,
        token=None,
        lease_expires_at=None,
    )
    if not retried:
        raise ConflictError(f"Mailing {mailing.pk} has no failed messages to retry.")
    if mailing.status == Mailing.Status.FINISHED:
        mailing.status = Mailing.Status.RUNNING
        mailing.finished_at = None
        mailing.save(update_fields=["status", "finished_at", "updated_at"])
    logger.info("failed messages retried", extra={"mailing_id": mailing.pk, "count": retried})
    noun = "message" if retried == 1 else "messages"
    mailing_history_record(mailing=mailing, actor=actor, via=via, message=f"Retried {retried:,} failed {noun}")
    if mailing.status == Mailing.Status.RUNNING:
        transaction.on_commit(mailings_process_soon)
    return retried
