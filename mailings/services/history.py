"""A mailing's History (the admin's LogEntry rows): every action on it, with the user who did it
and where from, written by the service that does it, so the admin and the API leave the same
entries and none twice."""

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType

from mailings.models import Mailing

ADMIN = "admin"
API = "API"


def mailing_history_record(*, mailing: Mailing, actor, via: str, message: str, flag: int = CHANGE) -> None:
    """One History entry, "Paused." from the admin, "Paused (API)." from the API. Nothing without a
    user (the engine, a management command): the History says what people did."""
    if actor is None or not actor.is_authenticated:
        return
    suffix = "" if via == ADMIN else f" ({via})"
    LogEntry.objects.create(
        user_id=actor.pk,
        content_type=ContentType.objects.get_for_model(Mailing),
        object_id=str(mailing.pk),
        object_repr=str(mailing)[:200],
        action_flag=flag,
        change_message=f"{message.rstrip('.')}{suffix}.",
    )


def mailing_changed_fields(*, fields: list[str]) -> str:
    """ "Changed message text and filter tag": the fields as the form names them."""
    names = [str(Mailing._meta.get_field(name).verbose_name) for name in fields]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"Changed {listed}"


__all__ = ["ADDITION", "ADMIN", "API", "CHANGE", "mailing_changed_fields", "mailing_history_record"]
