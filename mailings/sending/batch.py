"""What a worker does with one batch: claim its rows, send them concurrently, record the outcomes.

- **Claim** (here): one conditional UPDATE flips the batch's rows from pending to
  sending, only if they still carry the batch's token and the mailing is running. Its
  token is registered under this process's heartbeat first (`liveness`): the tick takes
  the rows back seconds after the process dies; the lease is the backstop. Just before it, in
  the same transaction, the batch's rows whose phone is on the do-not-contact list go
  from pending to cancelled ("do not contact"): a phone suppressed after fan-out.
- **Send** (`sender`): each message checked right before its request, then decided; as
  many requests in flight as the `pacing` leaves, none once the process was declared dead.
- **Record** (`recorder`): sent rows written while the batch goes on, the rest at its end.

Each row's provider is decided in the claim (`assign`: its route, its weighted pick, failover
while a circuit is open). The batch runs on this worker process's event loop and provider
sessions, one per provider (`runtime`).
"""

import logging
import secrets
import time
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from mailings.metrics import record_provider_requests
from mailings.models import Client, Mailing, Message, Suppression
from mailings.routing import route_table
from mailings.sending.assign import assign_providers, write_providers
from mailings.sending.circuit import Circuit, Circuits
from mailings.sending.config import SendingConfig
from mailings.sending.liveness import claim_fence, register_claim, release_claim, release_locks_if_paused
from mailings.sending.pacing import batch_pacer, remember
from mailings.sending.recorder import SentRecorder, record
from mailings.sending.runtime import discard_runtime, runtime_for
from mailings.sending.sender import BatchSender, MailingSnapshot, MailingView, Row

logger = logging.getLogger(__name__)

DO_NOT_CONTACT = "do not contact"


def claim(
    *,
    mailing_id: int,
    message_ids: list[int],
    token: int,
    lease: float,
    fields: tuple[str, ...] = (),
    attributes: tuple[str, ...] = (),
    config: SendingConfig | None = None,
    circuits: Circuits | None = None,
) -> tuple[list[Row], int]:
    """Flip the batch's rows to sending under a fresh token only this call knows.

    Returns the rows this call flipped (none for a duplicate or stale task) and the
    new token, which the record step must present. `fields` and `attributes`: what a
    personalised text names, read with each client's zone (a row's `values`). Each row's
    provider is decided here (`assign`), with the circuits' states as this process sees them.
    """
    now = timezone.now()
    claim_token = secrets.randbits(63)
    if not Mailing.objects.filter(pk=mailing_id, status=Mailing.Status.RUNNING, end_datetime__gt=now).exists():
        return [], claim_token  # paused, cancelled or over: the rows wait (or expire) where they are
    config = config or SendingConfig.from_settings()
    circuits = circuits or Circuits(config.circuit)
    # Registered before any row is flipped: a process dying between the two leaves no row the
    # heartbeat cannot explain (a registration without rows is harmless).
    register_claim(claim_token, lease)
    with transaction.atomic():
        release_locks_if_paused()
        batch = Message.objects.filter(
            id__any=message_ids, mailing_id=mailing_id, token=token, status=Message.Status.PENDING
        )
        # Phones put on the do-not-contact list since fan-out: one probe of the list's unique
        # index per row of the batch, in this statement; never sent, no attempt used.
        dropped = batch.filter(Exists(Suppression.objects.filter(phone_number=OuterRef("phone_number")))).update(
            status=Message.Status.CANCELLED, token=None, last_error=DO_NOT_CONTACT
        )
        # One table, no join: under concurrent claims PostgreSQL re-checks token and status
        # on the row version it finally locks, so only one claim can flip a row.
        batch.update(status=Message.Status.SENDING, token=claim_token, lease_expires_at=now + timedelta(seconds=lease))
        claimed = list(
            Message.objects.filter(id__any=message_ids, token=claim_token, status=Message.Status.SENDING).values_list(
                "id", "phone_number", "client_id", "attempts", "provider", "provider_pinned"
            )
        )
    if dropped:
        logger.info("batch left out do-not-contact phones", extra={"mailing_id": mailing_id, "count": dropped})
    client_ids = [row[2] for row in claimed if row[2] is not None]
    # One query for what each client's row needs: its zone, its operator code (its route) and,
    # for a personalised text, the fields and attributes it names (an attribute as text, absent: None).
    keys = {f"attribute_{n}": KeyTextTransform(name, "attributes") for n, name in enumerate(attributes)}
    read = Client.objects.filter(id__any=client_ids).annotate(**keys)
    clients = (
        {values[0]: values[1:] for values in read.values_list("id", "timezone", "operator_code", *fields, *keys)}
        if client_ids
        else {}
    )
    missing = ("UTC", None, *[None] * (len(fields) + len(attributes)))
    routed = [
        (i, phone, clients.get(client_id, missing)[1], to, pinned) for i, phone, client_id, _, to, pinned in claimed
    ]
    assigned = assign_providers(
        routed,
        table=route_table(),
        enabled=config.enabled,
        circuits=circuits,
    )
    moved = write_providers(current={row[0]: row[4] for row in claimed}, assigned=assigned, token=claim_token)
    if moved:
        logger.info("batch moved messages to other providers", extra={"mailing_id": mailing_id, "count": moved})
    personalised = bool(fields or attributes)
    rows = []
    for i, phone, client_id, attempts, _, _ in claimed:
        zone, _, *named = clients.get(client_id, missing)
        values = dict(zip((*fields, *attributes), named, strict=True)) if personalised else None
        to = assigned[i]
        rows.append(Row(i, phone, client_id, attempts, zone, values, to.provider, to.movable, to.probe, to.route_limit))
    return rows, claim_token


def batch_send(
    *, mailing_id: int, message_ids: list[int], token: int, config: SendingConfig, circuits: Circuits | Circuit
) -> dict:
    """Claim, send and record one batch; returns counts per action."""
    circuits = circuits if isinstance(circuits, Circuits) else Circuits(config.circuit, circuits)
    # Read first: a personalised text says what the claim must read of each client.
    snapshot = MailingSnapshot.read(mailing_id)
    template = snapshot.template
    rows, claim_token = claim(
        mailing_id=mailing_id,
        message_ids=message_ids,
        token=token,
        lease=config.lease,
        fields=template.field_names,
        attributes=template.attribute_names,
        config=config,
        circuits=circuits,
    )
    lease_end = time.time() + config.lease
    if not rows:
        release_claim(claim_token)
        return {}
    try:
        return _send_claimed(
            mailing_id=mailing_id, rows=rows, claim_token=claim_token, lease_end=lease_end, snapshot=snapshot,
            config=config, circuits=circuits,
        )  # fmt: skip
    finally:
        release_claim(claim_token)


def _send_claimed(
    *,
    mailing_id: int,
    rows: list[Row],
    claim_token: int,
    lease_end: float,
    snapshot: MailingSnapshot,
    config: SendingConfig,
    circuits: Circuits,
) -> dict:
    # With "batch done" below, what a worker held when it died: its batches claimed and not done.
    logger.info("batch claimed", extra={"mailing_id": mailing_id, "batch": claim_token, "count": len(rows)})
    view = MailingView(mailing_id, snapshot)
    started = time.perf_counter()
    runtime = runtime_for(config)
    recorder = SentRecorder(claim_token)
    pacer = batch_pacer(ceiling=config.gateway.concurrency, target=config.unrecorded_target, backlog=recorder.backlog)
    sender = BatchSender(
        mailing_id=mailing_id, config=config, circuits=circuits, fence=claim_fence(claim_token), slots=pacer
    )
    try:
        decisions = runtime.loop.run_until_complete(sender.send(rows, view, runtime.gateways, recorder))
    except BaseException:
        discard_runtime()  # e.g. a time limit hit mid-batch: start the next batch on a clean loop
        raise
    finally:
        pacer.close()
        remember(pacer)
    counts = record(decisions=decisions, token=claim_token, deadline=lease_end, recorded=recorder.recorded)
    record_provider_requests(sender.requests)
    logger.info(
        "batch done",
        extra={
            "mailing_id": mailing_id,
            "batch": claim_token,
            "count": len(rows),
            "duration_ms": round((time.perf_counter() - started) * 1000),
            "outcome": " ".join(f"{k}:{v}" for k, v in sorted(counts.items())),
        },
    )
    return counts
