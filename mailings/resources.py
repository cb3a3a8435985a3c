"""The clients' CSV import and export, plugged into django-import-export's admin flow.

django-import-export gives the pages: upload, a dry-run preview, confirm, export with
the change list's filters (the admin streams the export's file itself: see
`ClientAdmin.export_action`). Its row-by-row import (a query and a save per row) is far
too slow for a directory's files (docs/benchmarks.md), so this resource replaces
`import_data` with our own: read the whole file (`client_csv`), check every row, then
one upsert in one transaction (`services.client_import`).
"""

import logging

import tablib
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.html import format_html
from import_export import fields, resources
from import_export.formats.base_formats import CSV
from import_export.results import Result, RowResult

from mailings import client_csv, services, suppression_csv
from mailings.client_csv import COLUMNS, ClientRow, FileError, Table
from mailings.formatting import zone_label
from mailings.models import Client, Suppression

PREVIEW_ROWS = 100
logger = logging.getLogger(__name__)


class ClientTable(tablib.Dataset):
    """A checked CSV file travelling through django-import-export as its `Dataset`.

    Only its length is read by the admin's flow; the resource reads `table`.
    """

    def __init__(self, table: Table):
        super().__init__(headers=list(table.columns))
        self.table = table

    def __len__(self) -> int:
        return len(self.table.rows)


class ClientCSV(CSV):
    """CSV as spreadsheets save it: UTF-8 with or without BOM, `,`, `;` or tab separated."""

    def create_dataset(self, in_stream) -> ClientTable:
        return self.read(_uploaded_text(in_stream))

    def read(self, text: str) -> ClientTable:
        return ClientTable(client_csv.read_table(text, max_rows=settings.CLIENT_IMPORT_MAX_ROWS))

    def export_data(self, dataset, **kwargs) -> str:
        """django-import-export's own export (tablib's CSV) written as the admin's streamed one:
        whatever page uses it, no cell runs as a formula (`mailings.formulas`)."""
        rows = (tuple("" if value is None else str(value) for value in row) for row in dataset)
        return "".join(client_csv.csv_chunks(list(dataset.headers), client_csv.export_rows(rows)))


class ListTable(ClientTable):
    """A checked file of phones for the do-not-contact list; `phones_only`: a client file, whose
    phones alone are read."""

    def __init__(self, table, *, phones_only: bool = False):
        super().__init__(table)
        self.phones_only = phones_only


class PhonesToListCSV(ClientCSV):
    """The client import's list mode: a file of clients whose phones go to the do-not-contact list
    instead of the directory (its phone_number column is read, the others ignored)."""

    def get_title(self) -> str:
        return "csv: phones to the do-not-contact list"

    def read(self, text: str) -> ListTable:
        table = suppression_csv.read_phones_file(text, max_rows=settings.CLIENT_IMPORT_MAX_ROWS)
        return ListTable(table, phones_only=True)


class SuppressionCSV(ClientCSV):
    """The do-not-contact list's own file: phone_number, reason, note."""

    def read(self, text: str) -> ListTable:
        return ListTable(suppression_csv.read_list_file(text, max_rows=settings.CLIENT_IMPORT_MAX_ROWS))


def _uploaded_text(in_stream) -> str:
    if in_stream is None:
        minutes = max(1, round(settings.CLIENT_IMPORT_KEEP_SECONDS / 60))
        raise FileError(
            f"The uploaded file is no longer kept (it waits {minutes} minute{'s' if minutes != 1 else ''} "
            "for its confirmation): upload it again."
        )
    return client_csv.decode(in_stream)


class ClientResource(resources.ModelResource):
    phone_number = fields.Field(attribute="phone_number", column_name="phone_number")
    operator_code = fields.Field(attribute="operator_code", column_name="operator_code")
    tag = fields.Field(attribute="tag", column_name="tag")
    timezone = fields.Field(attribute="timezone", column_name="timezone")

    class Meta:
        model = Client
        fields = COLUMNS
        import_id_fields = ["phone_number"]

    def import_data(self, dataset, dry_run=False, raise_errors=False, **kwargs) -> Result:
        if isinstance(dataset, ListTable):  # the list mode: phones to the do-not-contact list
            return suppression_import_result(dataset, dry_run=dry_run, **kwargs)
        result = Result()
        result.diff_headers = list(COLUMNS)
        result.total_rows = len(dataset)
        records, errors = client_csv.check_rows(dataset.table)
        user = kwargs.get("user")
        logger.info(
            "clients import checked",
            extra={"count": len(dataset), "fields": f"user={getattr(user, 'username', None)},dry_run={dry_run}",
                   "outcome": "refused" if errors else "ok"},
        )  # fmt: skip
        if errors:
            _report_errors(result, errors)
            return result
        result.trunk_prefixed = client_csv.trunk_prefixed_phones(dataset.table)
        plan = (services.client_import_plan if dry_run else services.client_import)(records=records)
        result.totals[RowResult.IMPORT_TYPE_NEW] = len(plan.new)
        result.totals[RowResult.IMPORT_TYPE_UPDATE] = len(plan.changed)
        result.totals[RowResult.IMPORT_TYPE_SKIP] = plan.unchanged
        for record in plan.new[:PREVIEW_ROWS]:
            result.append_row_result(_row_result(RowResult.IMPORT_TYPE_NEW, record, None))
        for before, record in plan.changed[: max(0, PREVIEW_ROWS - len(plan.new))]:
            result.append_row_result(_row_result(RowResult.IMPORT_TYPE_UPDATE, record, before))
        return result


class SuppressionResource(resources.ModelResource):
    """The do-not-contact list's CSV: imported by `suppression_import_result`, exported by the library."""

    phone_number = fields.Field(attribute="phone_number", column_name="phone_number")
    reason = fields.Field(attribute="reason", column_name="reason")
    source = fields.Field(attribute="source", column_name="source")
    note = fields.Field(attribute="note", column_name="note")
    created_by = fields.Field(attribute="created_by__username", column_name="created_by")
    created_at = fields.Field(attribute="created_at", column_name="created_at")

    class Meta:
        model = Suppression
        fields = suppression_csv.EXPORT_COLUMNS
        import_id_fields = ["phone_number"]

    def import_data(self, dataset, dry_run=False, raise_errors=False, **kwargs) -> Result:
        return suppression_import_result(dataset, dry_run=dry_run, **kwargs)

    def dehydrate_created_at(self, entry: Suppression) -> str:
        return entry.created_at.isoformat(timespec="seconds")


def suppression_import_result(
    dataset: ListTable, *, dry_run: bool, reason: str = "", file_name: str = "", user=None, **kwargs
) -> Result:
    """A file of phones checked, then (unless `dry_run`) put on the do-not-contact list in one
    transaction, as django-import-export's preview and confirmation show it: new ones, and those
    listed already counted as skipped. Any bad row: errors only, nothing added."""
    result = Result()
    result.to_list = True
    result.total_rows = len(dataset)
    records, errors = suppression_csv.check_rows(
        dataset.table, reason=reason or Suppression.Reason.MANUAL, phones_only=dataset.phones_only
    )
    logger.info(
        "do-not-contact import checked",
        extra={"count": len(dataset), "fields": f"user={getattr(user, 'username', None)},dry_run={dry_run}",
               "outcome": "refused" if errors else "ok"},
    )  # fmt: skip
    if errors:
        result.diff_headers = list(dataset.table.columns)
        _report_errors(result, errors)
        return result
    result.diff_headers = list(suppression_csv.COLUMNS)
    result.trunk_prefixed = client_csv.trunk_prefixed_phones(dataset.table)
    if dry_run:
        plan = services.suppression_import_plan(rows=records)
    else:
        source = f"import {file_name}"[: Suppression._meta.get_field("source").max_length]
        plan = services.suppression_import(rows=records, source=source, actor=user)
    result.totals[RowResult.IMPORT_TYPE_NEW] = len(plan.added)
    result.totals[RowResult.IMPORT_TYPE_SKIP] = plan.listed
    for record in plan.added[:PREVIEW_ROWS]:
        row = RowResult()
        row.import_type = RowResult.IMPORT_TYPE_NEW
        row.object_repr = record.phone_number
        row.diff = [format_html("{}", value) for value in (record.phone_number, record.reason, record.note)]
        result.append_row_result(row)
    return result


def _report_errors(result: Result, errors: list[client_csv.RowError]) -> None:
    """The first PREVIEW_ROWS bad lines in full, and how many lines each column spoils: a file with
    a whole column wrong stays a page to read, not a hundred thousand rows to render."""
    by_line: dict[int, list[client_csv.RowError]] = {}
    lines_by_column: dict[str, set[int]] = {}
    for error in errors:
        by_line.setdefault(error.line, []).append(error)
        lines_by_column.setdefault(error.column or "the line as a whole", set()).add(error.line)
    for line, line_errors in list(by_line.items())[:PREVIEW_ROWS]:
        messages: dict[str, list[str]] = {}
        for error in line_errors:
            messages.setdefault(error.column or NON_FIELD_ERRORS, []).append(error.reason)
        result.append_invalid_row(line, line_errors[0].cells, ValidationError(messages))
    result.bad_lines = len(by_line)
    result.bad_lines_by_column = sorted(
        ((column, len(lines)) for column, lines in lines_by_column.items()), key=lambda item: -item[1]
    )


def _row_result(import_type: str, record: ClientRow, before: tuple[str, str, str] | None) -> RowResult:
    row = RowResult()
    row.import_type = import_type
    row.object_repr = record.phone_number
    after = _shown(record.values())
    before = None if before is None else _shown(before)
    row.diff = [format_html("{}", record.phone_number)]
    for index, value in enumerate(after):
        if before is None or before[index] == value:
            row.diff.append(format_html("{}", value))
        else:
            row.diff.append(format_html("<del>{}</del> <ins>{}</ins>", before[index], value))
    return row


def _shown(values: tuple[str, str, str]) -> tuple[str, str, str]:
    """A row's operator code, tag and time zone as the preview shows them (`UTC+03:00`, not `Etc/GMT-3`)."""
    operator_code, tag, zone = values
    return operator_code, tag, zone_label(zone)
