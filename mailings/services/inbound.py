"""Replies a provider delivered: each kept once (`InboundReply`), an opt-out word puts the phone on
the do-not-contact list, an opt-in word takes it off when a STOP reply put it there.

Idempotent: a delivery repeated word for word (same provider, phone, time and text) finds its
row and changes nothing. Out of order: for each phone the reply received last decides, so a STOP
replayed after a later START is kept but changes nothing.
"""

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, connection, transaction

from mailings.inbound import is_opt_in, is_opt_out
from mailings.models import InboundReply, Suppression
from mailings.services.suppressions import suppression_add

DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Reply:
    phone_number: str  # normalised
    text: str
    received_at: datetime


@dataclass
class InboundOutcome:
    actions: list[str] = field(default_factory=list)  # per reply: suppressed, unsuppressed, ignored, duplicate

    def counts(self) -> dict[str, int]:
        seen = Counter(self.actions)
        return {
            "received": len(self.actions),
            "suppressed": seen[InboundReply.Action.SUPPRESSED],
            "unsuppressed": seen[InboundReply.Action.UNSUPPRESSED],
            "ignored": seen[InboundReply.Action.IGNORED],
            "duplicates": seen[DUPLICATE],
        }


def _kind(text: str) -> str:
    if is_opt_out(text):
        return InboundReply.Kind.OPT_OUT
    if is_opt_in(text):
        return InboundReply.Kind.OPT_IN
    return InboundReply.Kind.OTHER


def _lock_phone(phone_number: str) -> None:
    """Two deliveries for one phone at once take turns (PostgreSQL; SQLite writes one at a time)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"inbound:{phone_number}"])


def _decide(*, provider: str, reply: Reply, kind: str) -> str:
    if kind == InboundReply.Kind.OTHER:
        return InboundReply.Action.IGNORED
    later = InboundReply.objects.filter(
        phone_number=reply.phone_number,
        kind__in=[InboundReply.Kind.OPT_OUT, InboundReply.Kind.OPT_IN],
        received_at__gt=reply.received_at,
    )
    if later.exists():
        return InboundReply.Action.IGNORED  # a later STOP or START has decided already
    if kind == InboundReply.Kind.OPT_OUT:
        added = suppression_add(
            phone_number=reply.phone_number, reason=Suppression.Reason.STOP, source=f"inbound {provider}"
        )
        return InboundReply.Action.SUPPRESSED if added.created else InboundReply.Action.IGNORED
    # An opt-in lifts only what a STOP reply put there: a complaint or a manual entry stays.
    deleted, _ = Suppression.objects.filter(phone_number=reply.phone_number, reason=Suppression.Reason.STOP).delete()
    return InboundReply.Action.UNSUPPRESSED if deleted else InboundReply.Action.IGNORED


def inbound_replies_record(*, provider: str, replies: list[Reply]) -> InboundOutcome:
    """Keep and act on each reply, in one transaction; says what each did."""
    outcome = InboundOutcome()
    with transaction.atomic():
        for reply in replies:
            _lock_phone(reply.phone_number)
            key = {
                "provider": provider,
                "phone_number": reply.phone_number,
                "received_at": reply.received_at,
                "text_digest": hashlib.sha256(reply.text.encode()).hexdigest(),
            }
            if InboundReply.objects.filter(**key).exists():
                outcome.actions.append(DUPLICATE)
                continue
            kind = _kind(reply.text)
            try:
                with transaction.atomic():  # the reply's row and what it did, or neither
                    action = _decide(provider=provider, reply=reply, kind=kind)
                    InboundReply.objects.create(**key, text=reply.text, kind=kind, action=action)
            except IntegrityError:  # the same reply kept meanwhile (SQLite has no phone lock)
                outcome.actions.append(DUPLICATE)
                continue
            outcome.actions.append(action)
    return outcome
