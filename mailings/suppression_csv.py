"""Do-not-contact CSV files: the list's own (phone_number, reason, note) and a client file whose
phones go to the list (its other columns ignored).

Read by the clients' reader (`client_csv.read_table`): the same encodings, separators, limits
and errors naming line, column and reason. A file with any bad row adds nothing. A phone the
file repeats is listed once.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from mailings.client_csv import MAX_FIELD_CHARS, FileError, RowError, Table, read_table
from mailings.formulas import unescape_formulas
from mailings.models import Suppression

COLUMNS = ("phone_number", "reason", "note")
# Written by the export besides COLUMNS; read back, an exported file imports again (these ignored).
EXPORT_ONLY_COLUMNS = ("source", "created_by", "created_at")
EXPORT_COLUMNS = ("phone_number", "reason", "source", "note", "created_by", "created_at")

_PHONE_FIELD = Suppression._meta.get_field("phone_number")
_NOTE_MAX = Suppression._meta.get_field("note").max_length
# A reason by its value (`stop`) or its label (`STOP reply`), in any case.
_REASONS = {
    **{value.lower(): value for value in Suppression.Reason.values},
    **{str(label).lower(): value for value, label in Suppression.Reason.choices},
}


@dataclass(frozen=True, slots=True)
class SuppressionRow:
    phone_number: str
    reason: str
    note: str


def _names(header: list[str]) -> tuple[str, ...]:
    columns = [name.strip().lower() for name in header]
    while columns and not columns[-1]:
        columns.pop()
    if not any(columns):
        raise FileError("The file is empty: its first line must name the columns, phone_number among them.")
    repeated = sorted({name for name in columns if name and columns.count(name) > 1})
    if repeated:
        raise FileError(f"Column {', '.join(map(repr, repeated))} appears more than once in the first line.")
    if "phone_number" not in columns:
        raise FileError("Missing column 'phone_number' in the first line.")
    return tuple(columns)


def list_header(header: list[str]) -> tuple[str, ...]:
    """The list's own file: phone_number, and optionally reason and note (the export's other
    columns are read and ignored); any other column is refused, as a misspelt one would be lost."""
    columns = _names(header)
    unknown = [name for name in columns if name not in (*COLUMNS, *EXPORT_ONLY_COLUMNS)]
    if unknown:
        raise FileError(
            f"Unknown column {', '.join(map(repr, unknown))} in the first line: expected phone_number, "
            "reason (optional), note (optional)."
        )
    return columns


def read_list_file(text: str, *, max_rows: int | None = None) -> Table:
    return read_table(text, max_rows=max_rows, header=list_header)


def read_phones_file(text: str, *, max_rows: int | None = None) -> Table:
    """Any CSV with a phone_number column (a file of clients): its other columns are ignored."""
    return read_table(text, max_rows=max_rows, header=_names)


def check_rows(table: Table, *, reason: str, phones_only: bool = False) -> tuple[list[SuppressionRow], list[RowError]]:
    """Every row turned into an entry (with `reason` unless the file names one), or into errors.
    `phones_only` (a client file): its phones with `reason`, whatever else its columns say."""
    columns = ("phone_number",) if phones_only else table.columns
    records: list[SuppressionRow] = []
    errors: list[RowError] = []
    seen: set[str] = set()
    for line, cells, _extra in table.rows:
        named = dict(zip(table.columns, (cell.strip() for cell in cells), strict=False))
        row_errors: list[RowError] = []
        raw_phone = named.get("phone_number", "")
        phone = ""
        try:
            if len(raw_phone) > MAX_FIELD_CHARS:
                raise ValidationError(f"{len(raw_phone)} characters: far too long.")
            phone = _PHONE_FIELD.clean(raw_phone, None)
        except ValidationError as exc:
            row_errors.extend(RowError(line, "phone_number", message, named) for message in exc.messages)
        row_reason = reason
        if "reason" in columns and named.get("reason", ""):
            row_reason = _REASONS.get(named["reason"].lower(), "")
            if not row_reason:
                choices = ", ".join(Suppression.Reason.values)
                row_errors.append(RowError(line, "reason", f"{named['reason']!r} is not one of {choices}.", named))
        note = unescape_formulas(named.get("note", "")) if "note" in columns else ""
        if len(note) > _NOTE_MAX:
            row_errors.append(RowError(line, "note", f"{len(note)} characters: at most {_NOTE_MAX}.", named))
        if row_errors:
            errors.extend(row_errors)
        elif phone not in seen:
            seen.add(phone)
            records.append(SuppressionRow(phone, row_reason, note))
    return records, errors
