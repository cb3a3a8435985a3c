"""Writes to mailings: create, edit, launch, pause, resume, cancel, delete, and asking the
workers for a processing pass."""

import logging
from datetime import datetime, time
from typing import Any

from django.db import transaction
from django.utils.timezone import now

from mailings.errors import ConflictError
from mailings.models import Mailing, Message, MessageCount
from mailings.selectors import mailing_message_counts
from mailings.services.history import ADDITION, ADMIN, mailing_changed_fields, mailing_history_record
from mailings.services.validation import validated_save
from mailings.tasks import process_active_mailings as process_active_mailings_task

logger = logging.getLogger(__name__)


@transaction.atomic
def mailing_create(
    *,
    start_datetime: datetime,
    end_datetime: datetime,
    message_text: str,
    filter_operator_code: str = "",
    filter_tag: str = "",
    send_window_start: time | None = None,
    send_window_end: time | None = None,
    actor=None,
    via: str = ADMIN,
) -> Mailing:
    mailing = Mailing()
    validated_save(
        mailing,
        {
            "start_datetime": start_datetime,
            "end_datetime": end_datetime,
            "message_text": message_text,
            "filter_operator_code": filter_operator_code,
            "filter_tag": filter_tag,
            "send_window_start": send_window_start,
            "send_window_end": send_window_end,
        },
    )
    logger.info("mailing created", extra={"mailing_id": mailing.pk})
    mailing_history_record(mailing=mailing, actor=actor, via=via, message="Added", flag=ADDITION)
    _process_soon_if_open(mailing)
    return mailing


def _process_soon_if_open(mailing: Mailing) -> None:
    """A mailing whose window is open starts now, not at the next tick (after the commit)."""
    if mailing.status == Mailing.Status.SCHEDULED and mailing.start_datetime <= now() < mailing.end_datetime:
        transaction.on_commit(mailings_process_soon)


def mailings_process_now() -> str:
    """Queue a processing pass (the tick's task, routed to the tick's queue) for a worker now.

    Returns the queued task's id. Raises kombu's OperationalError when the broker does not
    answer: nothing is retried here, so a web request never hangs on a broker that is down.
    """
    task_id = process_active_mailings_task.apply_async(retry=False).id
    logger.info("processing pass queued (task %s)", task_id)
    return task_id


def mailings_process_soon() -> None:
    """Ask a worker for a processing pass now; best effort, the periodic tick catches up anyway."""
    try:
        mailings_process_now()
    except Exception:  # the broker is down: the API must still answer
        logger.warning("could not reach the broker to start processing; the next tick will", exc_info=True)


@transaction.atomic
def mailing_update(*, mailing: Mailing, actor=None, via: str = ADMIN, **fields: Any) -> Mailing:
    """Edit a mailing. A running one keeps its audience unless its filter changes: then the
    next tick takes the audience again (new matches added, waiting messages to clients that
    no longer match cancelled). A new end or text applies to the very next request. A
    finished or cancelled mailing no longer changes, nor does the start of a started one."""
    mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
    if mailing.status in Mailing.CLOSED_STATUSES:
        raise ConflictError(f"Mailing {mailing.pk} is {mailing.status}: it can no longer be changed.")
    if mailing.started_at and fields.get("start_datetime", mailing.start_datetime) != mailing.start_datetime:
        raise ConflictError(
            f"Mailing {mailing.pk} started at {mailing.started_at.isoformat()}: its start can no longer change "
            "(pause it to hold the sending)."
        )
    filter_changed = any(
        name in fields and fields[name] != getattr(mailing, name) for name in ("filter_operator_code", "filter_tag")
    )
    changed = [name for name in fields if fields[name] != getattr(mailing, name)]
    if filter_changed and mailing.status in (Mailing.Status.RUNNING, Mailing.Status.PAUSED):
        fields["audience_outdated"] = True
    validated_save(mailing, fields)
    if changed:
        message = mailing_changed_fields(fields=changed)
        mailing_history_record(mailing=mailing, actor=actor, via=via, message=message)
    logger.info("mailing changed", extra={"mailing_id": mailing.pk, "fields": ",".join(sorted(fields)) or None})
    _process_soon_if_open(mailing)
    return mailing


@transaction.atomic
def mailing_launch(*, mailing: Mailing, actor=None, via: str = ADMIN) -> Mailing:
    """Start a scheduled mailing now instead of at its start time."""
    mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
    if mailing.status != Mailing.Status.SCHEDULED:
        raise ConflictError(f"Mailing {mailing.pk} is {mailing.status}: only a scheduled mailing can be launched.")
    if mailing.end_datetime <= now():
        raise ConflictError(f"Mailing {mailing.pk} ended at {mailing.end_datetime.isoformat()}: change its end first.")
    if mailing.start_datetime > now():
        validated_save(mailing, {"start_datetime": now()})
    logger.info("mailing launched", extra={"mailing_id": mailing.pk})
    mailing_history_record(mailing=mailing, actor=actor, via=via, message="Launched now")
    transaction.on_commit(mailings_process_soon)
    return mailing


@transaction.atomic
def mailing_pause(*, mailing: Mailing, actor=None, via: str = ADMIN) -> Mailing:
    """Stop sending (within a second for batches already out) until resumed."""
    mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
    if mailing.status not in (Mailing.Status.SCHEDULED, Mailing.Status.RUNNING):
        raise ConflictError(f"Mailing {mailing.pk} is {mailing.status}: only a scheduled or running one can be paused.")
    mailing.status = Mailing.Status.PAUSED
    mailing.save(update_fields=["status", "updated_at"])
    logger.info("mailing paused", extra={"mailing_id": mailing.pk})
    mailing_history_record(mailing=mailing, actor=actor, via=via, message="Paused")
    return mailing


@transaction.atomic
def mailing_resume(*, mailing: Mailing, actor=None, via: str = ADMIN) -> Mailing:
    mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
    if mailing.status != Mailing.Status.PAUSED:
        raise ConflictError(f"Mailing {mailing.pk} is {mailing.status}: only a paused mailing can be resumed.")
    mailing.status = Mailing.Status.RUNNING if mailing.started_at else Mailing.Status.SCHEDULED
    mailing.save(update_fields=["status", "updated_at"])
    # Messages queued before the pause are due again at once, not after the queue grace.
    mailing.messages.filter(status=Message.Status.PENDING, token__isnull=False).update(
        token=None, next_attempt_at=now()
    )
    logger.info("mailing resumed", extra={"mailing_id": mailing.pk})
    mailing_history_record(mailing=mailing, actor=actor, via=via, message="Resumed")
    transaction.on_commit(mailings_process_soon)
    return mailing


@transaction.atomic
def mailing_cancel(*, mailing: Mailing, actor=None, via: str = ADMIN) -> Mailing:
    """Stop for good: waiting messages are cancelled; requests already on the wire finish."""
    mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
    if mailing.status in Mailing.CLOSED_STATUSES:
        raise ConflictError(f"Mailing {mailing.pk} is {mailing.status} already.")
    mailing.status = Mailing.Status.CANCELLED
    mailing.finished_at = now()
    mailing.save(update_fields=["status", "finished_at", "updated_at"])
    cancelled = mailing.messages.filter(status=Message.Status.PENDING).update(
        status=Message.Status.CANCELLED, token=None, last_error="the mailing was cancelled"
    )
    logger.info("mailing cancelled", extra={"mailing_id": mailing.pk, "count": cancelled})
    message = f"Cancelled: {cancelled:,} waiting message{'' if cancelled == 1 else 's'} dropped"
    mailing_history_record(mailing=mailing, actor=actor, via=via, message=message)
    return mailing


@transaction.atomic
def mailing_clone(*, mailing: Mailing, actor=None, via: str = ADMIN) -> Mailing:
    """A copy to review before it sends: the same text (it is the SMS), filter and window, as long
    as the original, from the original's start if that is still ahead, else from now. It is made
    paused, so nothing goes out until someone resumes it (then it sends from its start)."""
    original = Mailing.objects.get(pk=mailing.pk)
    start = max(original.start_datetime, now())
    copy = Mailing(status=Mailing.Status.PAUSED)
    copied = ["message_text", "filter_operator_code", "filter_tag", "send_window_start", "send_window_end"]
    fields = {name: getattr(original, name) for name in copied}
    duration = original.end_datetime - original.start_datetime
    validated_save(copy, {**fields, "start_datetime": start, "end_datetime": start + duration})
    logger.info("mailing cloned", extra={"mailing_id": copy.pk, "original_id": original.pk})
    mailing_history_record(
        mailing=copy, actor=actor, via=via, message=f"Added as a copy of mailing #{original.pk}, paused", flag=ADDITION
    )
    mailing_history_record(mailing=original, actor=actor, via=via, message=f"Cloned as mailing #{copy.pk}")
    return copy


def mailing_delete_check(*, mailing: Mailing) -> None:
    """Raise ConflictError, saying why in the domain's words, if the mailing may not be deleted:
    it has messages (its history is its statistics). Reads the trigger-kept counts, not its rows."""
    if not mailing.messages.exists():  # an index walk of one row
        return
    count = sum(mailing_message_counts(mailing=mailing).values()) or 1
    raise ConflictError(
        f"Mailing #{mailing.pk} has {count:,} message{'s' * (count != 1)}: cancel it instead. "
        "It cannot be deleted, as its statistics depend on them."
    )


@transaction.atomic
def mailing_delete(*, mailing: Mailing) -> None:
    """Delete a mailing that never produced a message; one with history is refused."""
    mailing_delete_check(mailing=mailing)
    logger.info("mailing deleted", extra={"mailing_id": mailing.pk})
    MessageCount.objects.filter(mailing_id=mailing.pk).delete()  # rows of messages made and deleted by hand
    mailing.delete()
