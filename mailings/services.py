"""Everything that writes: `<entity>_<action>` functions with keyword-only arguments.

Each validates with `full_clean()` (field rules, normalisation, DB constraints)
before saving, so every interface refuses the same input the same way.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.timezone import now

from mailings import selectors
from mailings.client_csv import ClientRow
from mailings.errors import ConflictError
from mailings.models import Client, Mailing, Message, MessageCount
from mailings.tasks import process_active_mailings as process_active_mailings_task
from mailings.upserts import upsert_clients

logger = logging.getLogger(__name__)


def _validated_save(instance: models.Model, fields: dict[str, Any]) -> None:
    """Set, validate, save. An existing row saves only the given fields: a column the engine
    changed meanwhile (a status, a token) is never written back from a stale copy."""
    for name, value in fields.items():
        instance._meta.get_field(name)  # an unknown name is a programming error: fail loudly
        setattr(instance, name, value)
    instance.full_clean()
    if instance.pk is None:
        instance.save()
    else:
        auto_now = [f.name for f in instance._meta.concrete_fields if getattr(f, "auto_now", False)]
        instance.save(update_fields=[*fields, *auto_now])


# Clients


@transaction.atomic
def client_create(*, phone_number: str, timezone: str, operator_code: str = "", tag: str = "") -> Client:
    client = Client()
    _validated_save(
        client, {"phone_number": phone_number, "timezone": timezone, "operator_code": operator_code, "tag": tag}
    )
    return client


@transaction.atomic
def client_update(*, client: Client, **fields: Any) -> Client:
    if "phone_number" in fields and "operator_code" not in fields and fields["phone_number"] != client.phone_number:
        # A new number with no code given: derive the code from the new number, not keep the old one.
        fields["operator_code"] = ""
    _validated_save(client, fields)
    return client


@dataclass(frozen=True)
class ClientImport:
    """What an import does (or, in a dry run, would do)."""

    new: list[ClientRow]
    changed: list[tuple[tuple[str, str, str], ClientRow]]  # (operator code, tag, zone) before, and after
    unchanged: int


def client_import_plan(*, records: list[ClientRow]) -> ClientImport:
    existing = selectors.clients_by_phone(phones=[record.phone_number for record in records])
    new, changed, unchanged = [], [], 0
    for record in records:
        before = existing.get(record.phone_number)
        if before is None:
            new.append(record)
        elif before != record.values():
            changed.append((before, record))
        else:
            unchanged += 1
    return ClientImport(new=new, changed=changed, unchanged=unchanged)


@transaction.atomic
def client_import(*, records: list[ClientRow]) -> ClientImport:
    """Create or update clients by phone: all of them or, on any error, none.

    Rows already as in the file are not written. A client another writer created since
    the plan was made is updated, not duplicated (the upsert is on the phone number).
    """
    plan = client_import_plan(records=records)
    rows = [*plan.new, *(record for _, record in plan.changed)]
    upsert_clients(rows)
    logger.info(
        "clients imported", extra={"count": len(rows), "fields": f"new={len(plan.new)},changed={len(plan.changed)}"}
    )
    return plan


@transaction.atomic
def client_delete(*, client: Client) -> None:
    """Delete a client; its messages stay (with the phone they went to) so statistics hold.

    Messages still waiting for this client are cancelled: there is nobody to send them to.
    """
    cancelled = client.messages.filter(status=Message.Status.PENDING).update(
        status=Message.Status.CANCELLED, last_error="client deleted", token=None
    )
    logger.info("client deleted", extra={"client_id": client.pk, "count": cancelled})
    client.delete()


# Mailings


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
) -> Mailing:
    mailing = Mailing()
    _validated_save(
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
    _trigger_processing_if_open(mailing)
    return mailing


def _trigger_processing_if_open(mailing: Mailing) -> None:
    """A mailing whose window is open starts now, not at the next tick (after the commit)."""
    if mailing.status == Mailing.Status.SCHEDULED and mailing.start_datetime <= now() < mailing.end_datetime:
        transaction.on_commit(trigger_processing)


def mailings_process_now() -> str:
    """Queue a processing pass (the tick's task, routed to the tick's queue) for a worker now.

    Returns the queued task's id. Raises kombu's OperationalError when the broker does not
    answer: nothing is retried here, so a web request never hangs on a broker that is down.
    """
    task_id = process_active_mailings_task.apply_async(retry=False).id
    logger.info("processing pass queued (task %s)", task_id)
    return task_id


def trigger_processing() -> None:
    """Ask a worker for a processing pass now; best effort, the periodic tick catches up anyway."""
    try:
        mailings_process_now()
    except Exception:  # the broker is down: the API must still answer
        logger.warning("could not reach the broker to start processing; the next tick will", exc_info=True)


@transaction.atomic
def mailing_update(*, mailing: Mailing, **fields: Any) -> Mailing:
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
    if filter_changed and mailing.status in (Mailing.Status.RUNNING, Mailing.Status.PAUSED):
        fields["audience_outdated"] = True
    _validated_save(mailing, fields)
    logger.info("mailing changed", extra={"mailing_id": mailing.pk, "fields": ",".join(sorted(fields)) or None})
    _trigger_processing_if_open(mailing)
    return mailing


@transaction.atomic
def mailing_launch(*, mailing: Mailing) -> Mailing:
    """Start a scheduled mailing now instead of at its start time."""
    mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
    if mailing.status != Mailing.Status.SCHEDULED:
        raise ConflictError(f"Mailing {mailing.pk} is {mailing.status}: only a scheduled mailing can be launched.")
    if mailing.end_datetime <= now():
        raise ConflictError(f"Mailing {mailing.pk} ended at {mailing.end_datetime.isoformat()}: change its end first.")
    if mailing.start_datetime > now():
        _validated_save(mailing, {"start_datetime": now()})
    logger.info("mailing launched", extra={"mailing_id": mailing.pk})
    transaction.on_commit(trigger_processing)
    return mailing


@transaction.atomic
def mailing_pause(*, mailing: Mailing) -> Mailing:
    """Stop sending (within a second for batches already out) until resumed."""
    mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
    if mailing.status not in (Mailing.Status.SCHEDULED, Mailing.Status.RUNNING):
        raise ConflictError(f"Mailing {mailing.pk} is {mailing.status}: only a scheduled or running one can be paused.")
    mailing.status = Mailing.Status.PAUSED
    mailing.save(update_fields=["status", "updated_at"])
    logger.info("mailing paused", extra={"mailing_id": mailing.pk})
    return mailing


@transaction.atomic
def mailing_resume(*, mailing: Mailing) -> Mailing:
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
    transaction.on_commit(trigger_processing)
    return mailing


@transaction.atomic
def mailing_cancel(*, mailing: Mailing) -> Mailing:
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
    return mailing


@transaction.atomic
def mailing_delete(*, mailing: Mailing) -> None:
    """Delete a mailing that never produced a message; one with history is refused."""
    count = mailing.messages.count()
    if count:
        raise ConflictError(
            f"Mailing {mailing.pk} has {count} message(s) and its statistics depend on them: "
            "it cannot be deleted. Cancel it instead to stop any further sending."
        )
    logger.info("mailing deleted", extra={"mailing_id": mailing.pk})
    MessageCount.objects.filter(mailing_id=mailing.pk).delete()  # rows of messages made and deleted by hand
    mailing.delete()


# Messages (the delivery record; the sending engine writes most of them in bulk)


def _check_message_status(*, mailing: Mailing, status: str | None) -> None:
    if status == Message.Status.SENDING:
        raise ValidationError({"status": ["'sending' is set by the sending engine only."]})
    closed = mailing.status in Mailing.CLOSED_STATUSES
    if status == Message.Status.PENDING and closed:
        raise ValidationError(
            {"status": [f"Mailing {mailing.pk} is {mailing.status}: nothing of it waits to be sent any more."]}
        )


@transaction.atomic
def message_create(
    *,
    mailing: Mailing,
    client: Client,
    status: str = Message.Status.PENDING,
    created_at: datetime | None = None,
) -> Message:
    """Record a message by hand (integrations). A pending one joins its running mailing's sending."""
    _check_message_status(mailing=mailing, status=status)
    message = Message()
    _validated_save(
        message,
        {
            "mailing": mailing,
            "client": client,
            "phone_number": client.phone_number,
            "status": status,
            "created_at": created_at or now(),
            "sent_at": now() if status == Message.Status.SENT else None,
        },
    )
    return message


def _lock_idle_message(message: Message) -> Message:
    message = Message.objects.select_for_update().select_related("mailing").get(pk=message.pk)
    if message.status == Message.Status.SENDING:
        raise ConflictError(f"Message {message.pk} is being sent right now; try again in a minute.")
    return message


@transaction.atomic
def message_update(*, message: Message, **fields: Any) -> Message:
    """Correct a message record. One that is on the wire cannot change; it never moves to
    another mailing; setting it pending makes it due again."""
    message = _lock_idle_message(message)
    if "mailing" in fields and fields["mailing"].pk != message.mailing_id:
        raise ValidationError({"mailing": ["A message cannot move to another mailing."]})
    fields.pop("mailing", None)
    if "status" in fields and fields["status"] != message.status:
        _check_message_status(mailing=message.mailing, status=fields["status"])
        if fields["status"] == Message.Status.PENDING:
            fields.update(token=None, next_attempt_at=now())
    if fields.get("client") is not None:
        fields["phone_number"] = fields["client"].phone_number
    if fields.get("status") == Message.Status.SENT and message.sent_at is None:
        fields["sent_at"] = now()
    _validated_save(message, fields)
    return message


@transaction.atomic
def message_delete(*, message: Message) -> None:
    _lock_idle_message(message).delete()
