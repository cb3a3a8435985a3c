"""Reads of the client directory by phone and by attribute: what the CSV import compares a file
with, and the attribute columns of an export."""

from django.db import connection
from django.db.models import F, Func, QuerySet, TextField

from mailings.models import Client


def client_values_by_phone(*, phones: list[str]) -> dict[str, tuple[str, str, str]]:
    """(operator code, tag, time zone) of the clients with these phones, looked up in chunks
    (one array parameter per chunk on PostgreSQL; SQLite takes a few hundred parameters)."""
    chunk = 50_000 if connection.vendor == "postgresql" else 500
    found: dict[str, tuple[str, str, str]] = {}
    for start in range(0, len(phones), chunk):
        rows = Client.objects.filter(phone_number__any=phones[start : start + chunk]).values_list(
            "phone_number", "operator_code", "tag", "timezone"
        )
        found.update((phone, (operator_code, tag, zone)) for phone, operator_code, tag, zone in rows)
    return found


def client_attributes_by_phone(*, phones: list[str]) -> dict[str, dict]:
    """The attributes of the clients with these phones (an import with attribute columns merges them)."""
    chunk = 50_000 if connection.vendor == "postgresql" else 500
    found: dict[str, dict] = {}
    for start in range(0, len(phones), chunk):
        found.update(
            Client.objects.filter(phone_number__any=phones[start : start + chunk]).values_list(
                "phone_number", "attributes"
            )
        )
    return found


def client_attribute_names(clients: QuerySet[Client]) -> list[str]:
    """The attribute names the clients carry, sorted: the export's attribute columns. One scan of
    the clients that carry any (on PostgreSQL the keys never leave the database)."""
    carrying = clients.exclude(attributes={}).order_by()
    if connection.vendor == "postgresql":
        keys = carrying.annotate(
            key=Func(F("attributes"), function="jsonb_object_keys", output_field=TextField())
        ).values_list("key", flat=True)
        return sorted(set(keys.distinct()))
    return sorted({key for attributes in carrying.values_list("attributes", flat=True) for key in attributes})
