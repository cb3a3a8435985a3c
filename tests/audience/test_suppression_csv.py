"""The do-not-contact list's CSV rows: reasons by value or label, notes, formulas, line-numbered errors."""

from mailings.suppression_csv import check_rows, read_list_file, read_phones_file


class TestCheckRows:
    def test_a_reason_by_its_value_or_label_in_any_case_else_the_default(self):
        table = read_list_file("phone_number;reason\n79131234567;STOP reply\n79131234568;Complaint\n79131234569;\n")
        records, errors = check_rows(table, reason="invalid")
        assert errors == []
        assert [r.reason for r in records] == ["stop", "complaint", "invalid"]

    def test_a_note_too_long_names_its_line_and_column(self):
        table = read_list_file("phone_number,note\n79131234567," + "x" * 501 + "\n")
        records, errors = check_rows(table, reason="manual")
        assert records == []
        assert [(e.line, e.column) for e in errors] == [(2, "note")]

    def test_a_formula_escaped_by_the_export_reads_back(self):
        records, _ = check_rows(read_list_file("phone_number,note\n79131234567,'=1+1\n"), reason="manual")
        assert records[0].note == "=1+1"

    def test_a_client_file_gives_its_phones_and_nothing_else(self):
        table = read_phones_file("tag;phone_number;reason;note\nvip;89131234567;bored;hello\n")
        records, errors = check_rows(table, reason="complaint", phones_only=True)
        assert errors == []
        assert [(r.phone_number, r.reason, r.note) for r in records] == [("79131234567", "complaint", "")]
