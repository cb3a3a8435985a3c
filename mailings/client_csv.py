"""Client CSV files: read what spreadsheets write, check every row, say exactly what is wrong.

A file is read whole before anything is written: every bad row is reported with its
line number (as a text editor counts them, the header being line 1), the column and
the reason, and a file with any bad row imports nothing.

Rows are checked with the model fields' own `clean()`, so the import refuses what the
API and the forms refuse, in the same words. Values that repeat (operator codes, tags,
time zones) are checked once per distinct value: that is what makes 100,000 rows fast.
"""

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from django.core.exceptions import ValidationError

from mailings import placeholders
from mailings.formulas import escape_formulas, unescape_formulas
from mailings.models import Client
from mailings.normalizers import written_with_trunk_prefix

COLUMNS = ("phone_number", "operator_code", "tag", "timezone")
REQUIRED_COLUMNS = ("phone_number", "tag", "timezone")
DELIMITERS = (",", ";", "\t")
MAX_FIELD_CHARS = 1000
# No line of clients comes near this (four values of at most MAX_FIELD_CHARS, or a spreadsheet's
# thousands of empty columns); a line of nothing but separators would be as many cells in memory.
MAX_LINE_CHARS = 100_000


class FileError(ValueError):
    """The file as a whole cannot be read: encoding, CSV syntax or header."""


@dataclass(frozen=True, slots=True)
class ClientRow:
    phone_number: str
    operator_code: str
    tag: str
    timezone: str
    # The row's attribute columns, "" for an empty cell (no such attribute); None when the file has
    # none, and the clients' attributes stay as they are. The import merges them into the client's.
    attributes: dict[str, str] | None = None

    def values(self) -> tuple[str, str, str]:
        return (self.operator_code, self.tag, self.timezone)


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str  # a column name, or "" for the row as a whole
    reason: str
    cells: dict[str, str]


@dataclass(frozen=True, slots=True)
class Table:
    """The cells of a file, with the line each row starts on: as many cells as columns (empty
    ones past them dropped), and how many values past the columns a row has that are not blank."""

    columns: tuple[str, ...]
    rows: list[tuple[int, list[str], int]]


def decode(data: bytes | str) -> str:
    """UTF-8, with or without the BOM spreadsheets write."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileError(
            f"The file is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}). "
            "Save it as “CSV UTF-8” and upload it again."
        ) from None


_SEP_LINE = re.compile(r"^sep=([^\r\n])\s*$", re.IGNORECASE)  # Excel's way of naming the separator


def read_table(
    text: str, *, max_rows: int | None = None, header: Callable[[list[str]], tuple[str, ...]] | None = None
) -> Table:
    """Split CSV text into a header and rows, with `,`, `;` or tab between cells.

    The header is the first line that is not blank; an Excel `sep=;` line before it names the
    separator, else the header's own most frequent separator does. With `max_rows`, a file of
    more lines than that besides the header is refused, blank lines included: the limit is on
    what the file costs to read, and a file of blank lines costs as much as one of clients.
    `header` checks the first line's cells and names the columns (the clients' columns by default)."""
    check_header = header or _check_header
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise FileError("The file contains NUL bytes: it is not a CSV text file.")
    sep, header_line = _first_lines(_lines(text, max_rows))
    delimiter = sep or max(DELIMITERS, key=header_line.count)
    reader = csv.reader(_lines(text, max_rows, header_lines=2 if sep else 1), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str], int]] = []
    columns: tuple[str, ...] = ()
    sep_line_to_skip = sep is not None
    line = 1
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                pass  # a blank line: counted by `_lines`, nothing to keep
            elif sep_line_to_skip:
                sep_line_to_skip = False
            elif not columns:
                columns = check_header(cells)
            else:
                width = len(columns)
                extra = any(cell.strip() for cell in cells[width:])
                rows.append((line, cells[:width], len(cells) - width if extra else 0))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise FileError(
            f"Line {line}: the CSV cannot be read from there ({exc}); a quote opened on that line may never close."
        ) from None
    return Table(columns=columns or check_header([]), rows=rows)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")  # as the csv module splits lines (no copy of the text)


def _lines(text: str, max_rows: int | None, *, header_lines: int = 2) -> Iterator[str]:
    """The file's lines with their endings, each refused past MAX_LINE_CHARS, and the file refused
    at the first line past `max_rows` plus the header's."""
    most = float("inf") if max_rows is None else max_rows + header_lines
    for number, match in enumerate(_LINE.finditer(text), start=1):
        line = match.group()
        if number > most:
            raise FileError(
                f"More than {max_rows:,} lines besides the header in one file (blank lines count too): "
                "split it and import the parts one by one."
            )
        if len(line) > MAX_LINE_CHARS and (length := len(line.rstrip("\r\n"))) > MAX_LINE_CHARS:
            raise FileError(
                f"Line {number} is {length:,} characters long: a line of clients is far shorter. "
                "Is this the CSV file of clients?"
            )
        yield line


def _first_lines(lines: Iterator[str]) -> tuple[str | None, str]:
    """The separator an Excel `sep=` line names (or None), and the header's line."""
    for line in lines:
        if line.strip():
            sep = _SEP_LINE.match(line)
            if sep:
                return sep.group(1), next(lines, "")
            return None, line
    return None, ""


def _check_header(header: list[str]) -> tuple[str, ...]:
    columns = [name.strip().lower() for name in header]
    while columns and not columns[-1]:  # spreadsheets end lines with empty cells
        columns.pop()
    columns = tuple(columns)
    expected = "phone_number, operator_code (optional), tag, timezone"
    if not any(columns):
        raise FileError(f"The file is empty: its first line must name the columns {expected}.")
    # Every other column is an attribute of the clients (placeholders in texts: {first_name}).
    bad = [(name, placeholders.attribute_key_problem(name)) for name in columns if name not in COLUMNS]
    bad = [(name, problem) for name, problem in bad if problem]
    if bad:
        name, problem = bad[0]
        raise FileError(
            f"Column {name!r} in the first line: {problem}. Expected {expected}, and attribute columns "
            "(such as first_name)."
        )
    attributes = [name for name in columns if name not in COLUMNS]
    if len(attributes) > placeholders.ATTRIBUTES_MAX_KEYS:
        raise FileError(
            f"{len(attributes)} attribute columns in the first line; at most {placeholders.ATTRIBUTES_MAX_KEYS}."
        )
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise FileError(f"Column {', '.join(map(repr, repeated))} appears more than once in the first line.")
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise FileError(f"Missing column {', '.join(map(repr, missing))} in the first line: expected {expected}.")
    return columns


@lru_cache(maxsize=4096)
def _clean_repeated(column: str, value: str) -> str:
    """A value that repeats across rows, cleaned once (raises ValidationError)."""
    return Client._meta.get_field(column).clean(value, None)


_PHONE_FIELD = Client._meta.get_field("phone_number")


def check_rows(table: Table) -> tuple[list[ClientRow], list[RowError]]:
    """Every row turned into a client, or into errors naming line, column and reason."""
    _clean_repeated.cache_clear()
    records: list[ClientRow] = []
    errors: list[RowError] = []
    first_line_of: dict[str, int] = {}
    width = len(table.columns)
    attribute_columns = [column for column in table.columns if column not in COLUMNS]
    for line, cells, extra in table.rows:
        named = dict(zip(table.columns, (cell.strip() for cell in cells), strict=False))
        row_errors = _check_shape(line, extra, width, named)
        cleaned: dict[str, str] = {}
        for column in COLUMNS:
            raw = named.get(column, "")
            if len(raw) > MAX_FIELD_CHARS:
                row_errors.append(RowError(line, column, f"{len(raw)} characters: far too long.", named))
                continue
            try:
                if column == "phone_number":
                    cleaned[column] = _PHONE_FIELD.clean(raw, None)
                elif column == "operator_code" and not raw:
                    cleaned[column] = ""
                else:
                    cleaned[column] = _clean_repeated(column, unescape_formulas(raw))
            except ValidationError as exc:
                row_errors.extend(RowError(line, column, message, named) for message in exc.messages)
        attributes = None
        if attribute_columns:
            attributes = {}
            for column in attribute_columns:
                value = unescape_formulas(named.get(column, ""))
                problem = placeholders.attribute_value_problem(column, value)
                if problem:
                    row_errors.append(RowError(line, column, problem, named))
                else:
                    attributes[column] = value
        phone = cleaned.get("phone_number")
        if phone is not None:
            if phone in first_line_of:
                reason = f"{phone} is also on line {first_line_of[phone]}."
                row_errors.append(RowError(line, "phone_number", reason, named))
            else:
                first_line_of[phone] = line
        if row_errors:
            errors.extend(row_errors)
            continue
        operator_code = cleaned["operator_code"] or phone[1:4]
        records.append(ClientRow(phone, operator_code, cleaned["tag"], cleaned["timezone"], attributes))
    return records, errors


def trunk_prefixed_phones(table: Table) -> int:
    """How many phones the file writes with the trunk prefix 8 (read as 7: the preview says so)."""
    if "phone_number" not in table.columns:
        return 0
    at = table.columns.index("phone_number")
    return sum(len(cells) > at and written_with_trunk_prefix(cells[at].strip()) for _, cells, _ in table.rows)


def _check_shape(line: int, extra: int, width: int, named: dict[str, str]) -> list[RowError]:
    if extra:
        return [RowError(line, "", f"{width + extra} values, but the first line names {width} columns.", named)]
    return []


def export_columns(selected: Iterable[str] | None) -> list[str]:
    """The columns chosen for an export, in the file's order; all of them when none is chosen."""
    chosen = set(selected or COLUMNS)
    return [column for column in COLUMNS if column in chosen]


def csv_chunks(columns: list[str], rows: Iterable[tuple[str, ...]], *, per_chunk: int = 2000) -> Iterator[str]:
    """A CSV file in pieces, with the BOM spreadsheets need to read it as UTF-8.

    `,` between values, quoted only where the csv module must (a `,`, `"`, CR or LF inside):
    quoting more would not keep a reader with `;` or tab as its separator from splitting a
    value (see `mailings.formulas`), so `export_rows` makes every piece of a value inert instead."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(columns)
    for count, row in enumerate(rows, start=1):
        writer.writerow(row)
        if count % per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export_rows(clients: Iterable[tuple[str, ...]]) -> Iterator[tuple[str, ...]]:
    """Rows to write, with every place a spreadsheet may start a cell made inert (`mailings.formulas`)."""
    for row in clients:
        yield tuple(escape_formulas(value) for value in row)
