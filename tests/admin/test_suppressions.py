"""The do-not-contact list's admin page: search, filters, add, delete, CSV import (preview,
confirm, a bad row changes nothing) and export; and the client import's list mode."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mailings.models import Client, Suppression

pytestmark = pytest.mark.django_db
PAGE = "/admin/mailings/suppression/"
IMPORT = f"{PAGE}import/"
CONFIRM = f"{PAGE}process_import/"
EXPORT = f"{PAGE}export/"
CLIENT_IMPORT = "/admin/mailings/client/import/"
CLIENT_CONFIRM = "/admin/mailings/client/process_import/"


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.CLIENT_IMPORT_UPLOAD_DIR = str(tmp_path / "uploads")


def upload(client, content: str, url: str = IMPORT, name: str = "list.csv", **fields):
    data = {"format": 0, "resource": 0, "import_file": SimpleUploadedFile(name, content.encode(), "text/csv")}
    return client.post(url, {**data, **fields})


def confirm(client, preview, url: str = CONFIRM):
    form = preview.context["confirm_form"]
    return client.post(url, {name: form.initial.get(name, "") for name in form.fields}, follow=True)


def listed() -> dict[str, tuple[str, str, str]]:
    return {s.phone_number: (s.reason, s.source, s.note) for s in Suppression.objects.all()}


def _phones(response) -> list[str]:
    return sorted(entry.phone_number for entry in response.context["cl"].result_list)


class TestListPage:
    @pytest.fixture
    def three(self):
        Suppression.objects.create(phone_number="79131234567", reason="stop", source="inbound default")
        Suppression.objects.create(phone_number="79139999999", reason="complaint", source="admin")
        Suppression.objects.create(phone_number="79001234567", reason="stop", source="admin")

    def test_search_by_the_phone_or_its_start_as_people_write_it(self, viewer, three):
        assert _phones(viewer.get(PAGE, {"q": "8 913"})) == ["79131234567", "79139999999"]
        assert _phones(viewer.get(PAGE, {"q": "+7 (913) 123-45-67"})) == ["79131234567"]
        assert _phones(viewer.get(PAGE, {"q": "hello"})) == []

    def test_filters_by_reason_and_source(self, viewer, three):
        assert _phones(viewer.get(PAGE, {"reason__exact": "stop"})) == ["79001234567", "79131234567"]
        assert _phones(viewer.get(PAGE, {"source": "admin"})) == ["79001234567", "79139999999"]
        page = viewer.get(PAGE).content.decode()
        assert "inbound default" in page

    def test_an_operator_adds_a_phone_normalised_with_source_and_user(self, operator):
        response = operator.post(f"{PAGE}add/", {"phone_number": "8 913 123-45-67", "reason": "complaint", "note": "x"})
        assert response.status_code == 302, response.content.decode()[:2000]
        entry = Suppression.objects.get()
        assert (entry.phone_number, entry.reason, entry.source, entry.note) == (
            "79131234567",
            "complaint",
            "admin",
            "x",
        )
        assert entry.created_by.username == "operators"

    def test_adding_a_listed_phone_keeps_its_entry_and_says_so(self, operator):
        Suppression.objects.create(phone_number="79131234567", reason="stop", source="inbound default")
        response = operator.post(f"{PAGE}add/", {"phone_number": "79131234567", "reason": "manual"}, follow=True)
        assert "was on the list already" in response.content.decode()
        assert listed() == {"79131234567": ("stop", "inbound default", "")}

    def test_a_bad_phone_is_refused_naming_it(self, operator):
        response = operator.post(f"{PAGE}add/", {"phone_number": "12345", "reason": "manual"})
        assert response.status_code == 200
        assert "phone_number" in response.context["adminform"].form.errors
        assert not Suppression.objects.exists()

    def test_an_operator_deletes(self, operator):
        entry = Suppression.objects.create(phone_number="79131234567")
        response = operator.post(f"{PAGE}{entry.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        assert not Suppression.objects.exists()

    def test_a_viewer_reads_but_may_not_add_delete_or_import(self, viewer):
        entry = Suppression.objects.create(phone_number="79131234567")
        assert viewer.get(PAGE).status_code == 200
        assert viewer.post(f"{PAGE}add/", {"phone_number": "79001234567", "reason": "manual"}).status_code == 403
        assert viewer.post(f"{PAGE}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
        assert viewer.get(IMPORT).status_code == 403
        assert listed() == {"79131234567": ("manual", "", "")}


class TestImport:
    def test_preview_then_confirm_adds_normalised_and_counts_the_listed(self, operator):
        Suppression.objects.create(phone_number="79001234567", reason="stop", source="inbound default")
        content = "phone_number;reason;note\n+7 913 123-45-67;complaint;hotline\n89001234567;;\n79139999999;;\n"
        preview = upload(operator, content, reason="invalid")
        page = " ".join(preview.content.decode().split())
        assert "2 to add to the do-not-contact list" in page
        assert "1 listed already" in page
        assert len(listed()) == 1
        confirm(operator, preview)
        assert listed() == {
            "79001234567": ("stop", "inbound default", ""),
            "79131234567": ("complaint", "import list.csv", "hotline"),
            "79139999999": ("invalid", "import list.csv", ""),
        }
        assert Suppression.objects.get(phone_number="79139999999").created_by.username == "operators"

    def test_a_bad_row_changes_nothing_and_is_named_by_line_column_and_reason(self, operator):
        content = "phone_number,reason\n79131234567,stop\n12345,stop\n79139999999,bored\n"
        response = upload(operator, content)
        result = response.context["result"]
        errors = {
            (row.number, column): msgs
            for row in result.invalid_rows
            for column, msgs in row.field_specific_errors.items()
        }
        assert set(errors) == {(3, "phone_number"), (4, "reason")}
        assert "is not one of" in errors[(4, "reason")][0]
        assert "confirm_form" not in response.context
        assert not Suppression.objects.exists()

    def test_a_phone_written_twice_is_added_once(self, operator):
        preview = upload(operator, "phone_number\n89131234567\n+7 913 123-45-67\n")
        assert "1 to add to the do-not-contact list" in " ".join(preview.content.decode().split())
        confirm(operator, preview)
        assert list(listed()) == ["79131234567"]

    def test_an_unknown_column_is_refused(self, operator):
        response = upload(operator, "phone_number,colour\n79131234567,red\n")
        assert "Unknown column 'colour'" in " ".join(response.context["form"].errors["import_file"])

    def test_an_operator_may_import_a_viewer_may_not(self, viewer):
        assert upload(viewer, "phone_number\n79131234567\n").status_code == 403
        assert not Suppression.objects.exists()


class TestExport:
    def test_it_exports_what_imports_back(self, viewer, operator):
        Suppression.objects.create(phone_number="79131234567", reason="stop", source="inbound default", note="=1+1")
        columns = ["phone_number", "reason", "source", "note", "created_by", "created_at"]
        chosen = {f"suppressionresource_{name}": "on" for name in columns}
        response = viewer.post(EXPORT, {"format": 0, "resource": 0, **chosen})
        assert response.status_code == 200
        text = b"".join(response.streaming_content if response.streaming else [response.content]).decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [(r["phone_number"], r["reason"], r["source"]) for r in rows] == [
            ("79131234567", "stop", "inbound default")
        ]
        assert rows[0]["note"] == "'=1+1"  # a formula made inert
        assert list(rows[0]) == columns
        Suppression.objects.all().delete()
        confirm(operator, upload(operator, text))
        assert listed() == {"79131234567": ("stop", "import list.csv", "=1+1")}


class TestClientImportListMode:
    def test_the_files_phones_go_to_the_list_not_the_directory(self, operator):
        Suppression.objects.create(phone_number="79001234567", reason="stop")
        content = "phone_number;tag;timezone;reason\n89131234567;vip;UTC;bored\n79001234567;;;\n"
        preview = upload(operator, content, url=CLIENT_IMPORT, name="complaints.csv", format=1, reason="complaint")
        page = " ".join(preview.content.decode().split())
        assert "1 to add to the do-not-contact list" in page, page[-3000:]
        assert "1 listed already" in page
        confirm(operator, preview, url=CLIENT_CONFIRM)
        assert listed() == {
            "79001234567": ("stop", "", ""),
            "79131234567": ("complaint", "import complaints.csv", ""),
        }
        assert not Client.objects.exists()

    def test_a_bad_row_changes_nothing(self, operator):
        content = "phone_number;tag\n79131234567;vip\n7913;vip\n"
        response = upload(operator, content, url=CLIENT_IMPORT, format=1, reason="complaint")
        rows = response.context["result"].invalid_rows
        assert [(row.number, list(row.field_specific_errors)) for row in rows] == [(3, ["phone_number"])]
        assert not Suppression.objects.exists()

    def test_the_phone_column_is_required(self, operator):
        response = upload(operator, "tag;timezone\nvip;UTC\n", url=CLIENT_IMPORT, format=1)
        assert "Missing column 'phone_number'" in " ".join(response.context["form"].errors["import_file"])

    def test_the_form_offers_both_with_the_directory_first(self, operator):
        form = operator.get(CLIENT_IMPORT).context["form"]
        assert form.fields["format"].label == "Import into"
        assert form.fields["format"].choices[0] == ("0", "the client directory")
        assert form.fields["format"].initial == "0"

    def test_the_directory_import_is_unchanged(self, operator):
        preview = upload(operator, "phone_number;tag;timezone\n79131234567;vip;UTC\n", url=CLIENT_IMPORT, format=0)
        confirm(operator, preview, url=CLIENT_CONFIRM)
        assert Client.objects.get().phone_number == "79131234567"
        assert not Suppression.objects.exists()
