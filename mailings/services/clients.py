"""Writes to the client directory: one client, or a whole CSV file at once."""

import logging
from dataclasses import dataclass, replace
from typing import Any

from django.db import transaction

from mailings import directory_selectors
from mailings.client_csv import ClientRow
from mailings.models import Client, Message
from mailings.services.validation import validated_save
from mailings.upserts import upsert_clients

logger = logging.getLogger(__name__)


@transaction.atomic
def client_create(
    *, phone_number: str, timezone: str, operator_code: str = "", tag: str = "", attributes: dict | None = None
) -> Client:
    client = Client()
    validated_save(
        client,
        {
            "phone_number": phone_number,
            "timezone": timezone,
            "operator_code": operator_code,
            "tag": tag,
            "attributes": attributes or {},
        },
    )
    return client


@transaction.atomic
def client_update(*, client: Client, **fields: Any) -> Client:
    if "phone_number" in fields and "operator_code" not in fields and fields["phone_number"] != client.phone_number:
        # A new number with no code given: derive the code from the new number, not keep the old one.
        fields["operator_code"] = ""
    validated_save(client, fields)
    return client


@dataclass(frozen=True)
class ClientImport:
    """What an import does (or, in a dry run, would do)."""

    new: list[ClientRow]
    changed: list[tuple[tuple[str, str, str], ClientRow]]  # (operator code, tag, zone) before, and after
    unchanged: int


def client_import_plan(*, records: list[ClientRow]) -> ClientImport:
    phones = [record.phone_number for record in records]
    existing = directory_selectors.client_values_by_phone(phones=phones)
    with_attributes = bool(records) and records[0].attributes is not None
    attributes = directory_selectors.client_attributes_by_phone(phones=phones) if with_attributes else {}
    new, changed, unchanged = [], [], 0
    for record in records:
        before = existing.get(record.phone_number)
        if with_attributes:
            # The file's attribute columns replace those attributes (an empty cell removes one); the
            # client's other attributes stay.
            had = attributes.get(record.phone_number, {})
            merged = {k: v for k, v in had.items() if k not in record.attributes}
            merged.update((k, v) for k, v in record.attributes.items() if v)
            attributes_changed = merged != had
            record = replace(record, attributes=merged)
        else:
            attributes_changed = False
        if before is None:
            new.append(record)
        elif before != record.values() or attributes_changed:
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
