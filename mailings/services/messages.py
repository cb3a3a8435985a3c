"""Writes to the delivery record by hand (integrations); the sending engine writes most of
it in bulk (mailings/sending/)."""

import logging
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.timezone import now

from mailings.errors import ConflictError
from mailings.models import Client, Mailing, Message
from mailings.services.validation import validated_save

logger = logging.getLogger(__name__)


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
    validated_save(
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
    validated_save(message, fields)
    return message


@transaction.atomic
def message_delete(*, message: Message) -> None:
    _lock_idle_message(message).delete()
