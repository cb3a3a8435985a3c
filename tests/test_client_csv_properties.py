"""Property tests for the clients' CSV: whatever the bytes, a clear answer and nothing half-imported."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mailings import client_csv
from mailings.client_csv import COLUMNS, FileError
from mailings.models import Client

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
phones = st.integers(min_value=0, max_value=9_999_999_999).map(lambda n: f"7{n:010d}")
cells = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\n"), max_size=80)


def read(data: bytes):
    """(records, errors), or the FileError that says why the file cannot be read."""
    try:
        table = client_csv.read_table(client_csv.decode(data))
    except FileError as exc:
        return exc
    return client_csv.check_rows(table)


HEADER = b"phone_number;operator_code;tag;timezone\r\n"
# Bytes a CSV is made of, so that most files get past the header to the per-row checks;
# stray quotes, NULs and bytes that are not UTF-8 among them refuse a file whole.
PIECES = [
    b"7", b"9", b"0", b"79001234567", b";", b",", b"\t", b'"', b"\n", b"\r\n", b" ", b"x", b"=1", b"UTC", b"GMT+3",
    b"Mars/Base", "\u0439".encode(), b"\xff", b"\x00", b"sep=,",
    b"\n79001234567;900;vip;UTC\n", b"\r\n79161234567;;'=1+1;GMT+3\r\n",
]  # fmt: skip
csv_bytes = st.lists(st.sampled_from(PIECES), max_size=120).map(b"".join)
# Whole good rows, so that files of clients only are among the examples too (pieces alone
# seldom make one: a stray byte anywhere spoils a row).
GOOD_ROWS = [b"79001234567;900;vip;UTC\n", b"79161234567;;'=1+1;GMT+3\r\n", b"79031234567;;;Europe/Moscow\n"]
good_rows = st.lists(st.sampled_from(GOOD_ROWS), min_size=1, max_size=3, unique=True).map(b"".join)


def test_any_bytes_after_a_valid_header_give_rows_or_a_reason_never_a_crash():
    """Whatever follows a valid header, the file is refused with a reason or every row it holds
    becomes a client or an error on its own line; refusals, row errors and clients all
    happen among the examples (asserted: a generator that never passes the header fails it)."""
    seen: set[str] = set()

    @settings(SETTINGS, max_examples=200)
    @given(csv_bytes | good_rows | st.binary(max_size=2000))
    def check(body):
        outcome = read(HEADER + body)
        if isinstance(outcome, FileError):
            branch = "refused whole"
            assert str(outcome)
        else:
            records, errors = outcome
            assert all(error.reason and error.line >= 2 for error in errors)
            assert len({record.phone_number for record in records}) == len(records)
            branch = "rows with errors" if errors else ("clients" if records else "no rows")
        event(branch)
        seen.add(branch)

    check()
    assert {"refused whole", "rows with errors", "clients"} <= seen, seen


@SETTINGS
@given(st.lists(st.sampled_from([*COLUMNS, "email", "name", "", "phone"]), min_size=0, max_size=6))
def test_a_header_is_accepted_only_with_the_required_columns_and_no_others(header):
    outcome = read((";".join(header) + "\n79001234567" + ";x" * max(len(header) - 1, 0) + "\n").encode())
    valid = (
        set(client_csv.REQUIRED_COLUMNS) <= set(header)
        and set(header) <= set(COLUMNS)
        and len(header) == len(set(header))
    )
    assert isinstance(outcome, FileError) != valid


@SETTINGS
@given(
    st.lists(st.tuples(phones, cells, st.sampled_from(["UTC", "Europe/Moscow", "GMT+3", "Mars/Base", ""])), max_size=20)
)
def test_every_row_is_either_a_client_or_an_error_with_its_line(rows):
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";")
    writer.writerow(["phone_number", "tag", "timezone"])
    writer.writerows(rows)
    outcome = read(text.getvalue().encode())
    assert not isinstance(outcome, FileError)
    records, errors = outcome
    bad_lines = {error.line for error in errors}
    assert len(records) + len(bad_lines) == len(rows)  # one line a row: each is a client or has errors
    assert bad_lines <= set(range(2, len(rows) + 2))
    assert all(len(record.tag) <= 64 and record.timezone for record in records)


def _csv_file(rows) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";")
    writer.writerow(["phone_number", "tag", "timezone"])
    writer.writerows(rows)
    return text.getvalue().encode()


csv_files = st.lists(
    st.tuples(phones, cells, st.sampled_from(["UTC", "Europe/Moscow", "GMT+3", "Mars/Base"])), min_size=1, max_size=8
).map(_csv_file)


@pytest.mark.django_db
@SETTINGS
@given(data=st.binary(max_size=600) | st.text(max_size=600).map(str.encode) | csv_files)
def test_through_the_admin_a_file_imports_whole_or_not_at_all(admin_client, data):
    Client.objects.all().delete()  # one database transaction holds every example
    outcome = read(data)
    preview = admin_client.post(
        "/admin/mailings/client/import/",
        {"format": 0, "resource": 0, "import_file": SimpleUploadedFile("f.csv", data, "text/csv")},
    )
    assert preview.status_code == 200
    assert Client.objects.count() == 0  # a preview never writes
    good = not isinstance(outcome, FileError) and not outcome[1] and outcome[0]
    assert ("confirm_form" in preview.context) == bool(good)
    event("imported" if good else "refused")
    if good:
        form = preview.context["confirm_form"]
        admin_client.post("/admin/mailings/client/process_import/", {n: form.initial[n] for n in form.fields})
        assert set(Client.objects.values_list("phone_number", flat=True)) == {r.phone_number for r in outcome[0]}


# Tags as the API, the admin and the import store them (stripped, no NUL, at most 64 characters),
# made mostly of what spreadsheets make cells and formulas of, with any other text between.
SPREADSHEET_PIECES = ["=", "+", "-", "@", "'", '"', ",", ";", "\t", "\r", "\n", " ", "\u3000", "x", "=1+1", '";"']
any_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=4)
tags = st.lists(st.sampled_from(SPREADSHEET_PIECES) | any_text, max_size=24).map(lambda p: "".join(p)[:64].strip())
FORMULA = re.compile(r'[\s"]*[=+\-@]')


def would_run(cell: str) -> bool:
    """A spreadsheet runs a cell as a formula when it starts with `=`, `+`, `-` or `@`; counted here
    even after leading whitespace (tab, CR, spaces: some programs trim them) and quote characters
    (a program that takes quotes as text, or trims them)."""
    return bool(FORMULA.match(cell))


@settings(SETTINGS, max_examples=300)
@given(st.lists(tags, min_size=1, max_size=6))
def test_no_spreadsheet_reading_an_export_runs_a_cell_and_it_imports_back_unchanged(tag_list):
    """Whichever of `,`, `;` or tab a spreadsheet splits lines on (Excel: the locale's list
    separator), with quotes respected or taken as text, no cell it makes would run; and the
    file imports back through our import as it was."""
    rows = [(f"7900000{n:04d}", "900", tag, "UTC") for n, tag in enumerate(tag_list)]
    text = "".join(client_csv.csv_chunks(list(COLUMNS), client_csv.export_rows(rows)))
    body = text.removeprefix("\ufeff")
    for separator in ",;\t":
        for quoting in (csv.QUOTE_MINIMAL, csv.QUOTE_NONE):
            reader = csv.reader(io.StringIO(body, newline=""), delimiter=separator, quoting=quoting)
            running = [cell for row in reader for cell in row if would_run(cell)]
            assert not running, (separator, quoting, text)
    records, errors = client_csv.check_rows(client_csv.read_table(client_csv.decode(text.encode())))
    assert not errors
    assert [(r.phone_number, r.operator_code, r.tag, r.timezone) for r in records] == rows


@pytest.mark.parametrize(
    ("exported", "imported"),
    [("'=1", "=1"), ("''x", "'x"), ("'x", "'x"), ("a;'=1", "a;=1"), ("a,' +1", "a, +1"), ("=1", "=1")],
)
def test_the_import_takes_off_the_quote_the_export_puts_before_a_formula(exported, imported):
    assert client_csv.unescape_formulas(exported) == imported
