"""The clients' CSV import (upload, preview, confirm) and export in the admin."""

import csv
import io
import os
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile

from mailings import services
from mailings.admin.clients import ClientAdmin
from mailings.client_csv import COLUMNS, ClientRow
from mailings.models import Client
from mailings.resources import ClientCSV
from mailings.services import clients as client_services
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
IMPORT = "/admin/mailings/client/import/"
CONFIRM = "/admin/mailings/client/process_import/"
EXPORT = "/admin/mailings/client/export/"
CLIENTS = "/admin/mailings/client/"


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path) -> Path:
    """Each test's uploads in a folder of its own: what is left there is what the test left."""
    settings.CLIENT_IMPORT_UPLOAD_DIR = str(tmp_path / "uploads")
    return tmp_path / "uploads"


def uploads_kept() -> list[str]:
    """Every upload still kept: files in the upload folder, and any key django-import-export's
    cache storage would use in the real Redis behind the cache (this run's prefix)."""
    folder = Path(django_settings.CLIENT_IMPORT_UPLOAD_DIR)
    files = sorted(path.name for path in folder.iterdir()) if folder.exists() else []
    cache_redis = redis.Redis.from_url(django_settings.CACHES["default"]["LOCATION"])
    prefix = django_settings.CACHES["default"]["KEY_PREFIX"]
    keys = sorted(key.decode() for key in cache_redis.scan_iter(match=f"{prefix}:*django-import-export-*"))
    return files + keys


def upload(client, content: str | bytes, name: str = "clients.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(IMPORT, {"format": 0, "resource": 0, "import_file": SimpleUploadedFile(name, data, "text/csv")})


def confirm(client, preview, **kwargs):
    form = preview.context["confirm_form"]
    return client.post(CONFIRM, {name: form.initial[name] for name in form.fields}, **kwargs)


def table(*rows: str, header: str = "phone_number;operator_code;tag;timezone") -> str:
    return "\n".join([header, *rows]) + "\n"


def clients() -> dict[str, tuple[str, str, str]]:
    return {c.phone_number: (c.operator_code, c.tag, c.timezone) for c in Client.objects.all()}


class TestPreviewAndConfirm:
    def test_the_preview_changes_nothing_and_confirm_imports_normalised(self, admin_client):
        preview = upload(
            admin_client, table("+7 (900) 123-45-67;;vip;Europe/Moscow", "79131234567;950;;GMT+3", "79991112233;;x;utc")
        )
        assert preview.status_code == 200
        assert Client.objects.count() == 0
        page = preview.content.decode()
        assert "3 lines checked" in page
        assert "3 new" in page
        response = confirm(admin_client, preview, follow=True)
        assert response.redirect_chain[-1][0] == CLIENTS
        assert clients() == {
            "79001234567": ("900", "vip", "Europe/Moscow"),
            "79131234567": ("950", "", "Etc/GMT-3"),
            "79991112233": ("999", "x", "UTC"),
        }
        assert "3 new" in response.content.decode()

    def test_phones_with_the_trunk_prefix_are_read_as_7_and_the_preview_says_so(self, admin_client):
        preview = upload(admin_client, table("89001234567;;;UTC", "8 (913) 123-45-67;;;UTC", "79991112233;;;UTC"))

        page = " ".join(preview.content.decode().split())
        assert "3 new" in page
        assert "2 phones were written with the trunk prefix 8 (such as 8 900 123-45-67) and read as 7" in page
        confirm(admin_client, preview)
        assert sorted(clients()) == ["79001234567", "79131234567", "79991112233"]
        assert "trunk prefix" not in upload(admin_client, table("79001234567;;;UTC")).content.decode()

    def test_whole_numbers_are_hour_offsets(self, admin_client):
        preview = upload(admin_client, table("79001234567;;;3", "79131234567;;;0", "79991112233;;;-5"))
        assert "3 new" in preview.content.decode()
        confirm(admin_client, preview)
        assert {phone: zone for phone, (_, _, zone) in clients().items()} == {
            "79001234567": "Etc/GMT-3",
            "79131234567": "UTC",
            "79991112233": "Etc/GMT+5",
        }

    def test_each_check_is_logged_with_who_asked(self, admin_client, caplog):
        caplog.set_level("INFO")
        upload(admin_client, table("79001234567;;x;UTC"))
        record = next(r for r in caplog.records if r.getMessage() == "clients import checked")
        assert "user=admin" in record.fields
        assert "dry_run=True" in record.fields

    def test_reimport_is_idempotent_and_updates_by_phone(self, admin_client):
        ClientFactory(phone_number="79001234567", operator_code="900", tag="old", timezone="UTC")
        ClientFactory(phone_number="79131234567", operator_code="913", tag="same", timezone="UTC")
        created_before = Client.objects.get(phone_number="79001234567").created_at
        preview = upload(admin_client, table("79001234567;;new;UTC", "79131234567;;same;UTC", "79220000000;;n;UTC"))
        page = preview.content.decode()
        assert "1 new" in page
        assert "1 to update" in page
        assert "1 already as in the file" in page
        assert "<del>old</del> <ins>new</ins>" in page
        confirm(admin_client, preview)
        assert clients()["79001234567"] == ("900", "new", "UTC")
        assert Client.objects.get(phone_number="79001234567").created_at == created_before
        assert Client.objects.count() == 3

        again = upload(admin_client, table("79001234567;;new;UTC", "79131234567;;same;UTC", "79220000000;;n;UTC"))
        assert "0 new" in again.content.decode()
        assert "3 already as in the file" in again.content.decode()
        confirm(admin_client, again)
        assert Client.objects.count() == 3

    def test_confirm_works_from_the_database_as_it_is_then(self, admin_client):
        preview = upload(admin_client, table("79001234567;;file;UTC"))
        ClientFactory(phone_number="79001234567", tag="meanwhile", timezone="UTC")  # another writer, in between
        confirm(admin_client, preview)
        assert Client.objects.get(phone_number="79001234567").tag == "file"
        assert Client.objects.count() == 1

    def test_an_upload_no_longer_kept_is_an_error_not_a_crash(self, admin_client, upload_dir):
        preview = upload(admin_client, table("79001234567;;x;UTC"))
        (upload_dir / preview.context["confirm_form"].initial["import_file_name"]).unlink()
        response = confirm(admin_client, preview, follow=True)
        assert response.status_code == 200
        assert "no longer kept" in response.content.decode()
        assert Client.objects.count() == 0


class TestWhatSpreadsheetsWrite:
    @pytest.mark.parametrize(
        "content",
        [
            'phone_number,tag,timezone\r\n79001234567,a,UTC\r\n79001234568,"b, c",UTC\r\n',
            "\ufeffphone_number;tag;timezone\n79001234567;a;UTC\n79001234568;b, c;UTC\n",
            "phone_number\ttag\ttimezone\n79001234567\ta\tUTC\n79001234568\tb, c\tUTC\n",
            " Phone_Number ; TAG ; timezone \n79001234567;a;UTC\n\n79001234568;b, c;UTC;\n",
            "\n\nphone_number;tag;timezone;;\n79001234567;a;UTC;;\n79001234568;b, c;UTC;;\n",
            'sep=,\nphone_number,tag,timezone\n79001234567,a,UTC\n79001234568,"b, c",UTC\n',
            "phone_number;tag;timezone\r79001234567;a;UTC\r79001234568;b, c;UTC\r",
        ],
        ids=[
            "comma-crlf-quoted",
            "semicolon-bom",
            "tab",
            "spaced-header-blank-line-trailing-separator",
            "leading-blank-lines-trailing-empty-columns",
            "excel-sep-line",
            "old-mac-cr",
        ],
    )
    def test_separators_bom_and_line_endings(self, admin_client, content):
        confirm(admin_client, upload(admin_client, content.encode("utf-8")))
        assert clients() == {"79001234567": ("900", "a", "UTC"), "79001234568": ("900", "b, c", "UTC")}

    def test_a_bom_written_as_utf8_sig(self, admin_client):
        confirm(admin_client, upload(admin_client, table("79001234567;;тег;UTC").encode("utf-8-sig")))
        assert clients() == {"79001234567": ("900", "тег", "UTC")}


class TestBadFiles:
    def test_every_bad_row_with_line_column_and_reason_and_nothing_imported(self, admin_client):
        content = table(
            "79001234567;;good;UTC",  # line 2
            "12345;;x;UTC",  # line 3: phone
            "",  # line 4: blank, skipped but counted
            '79001234568;;"two\nlines";Mars/Olympus',  # lines 5-6: time zone
            "79001234569;12;x;UTC",  # line 7: operator code
            "79001234567;;dup;UTC",  # line 8: phone already on line 2
            "79001234570;;" + "t" * 65 + ";UTC",  # line 9: tag too long
            "79001234571;;x;UTC;surplus",  # line 10: a value too many
            "79001234572;;x;",  # line 11: missing time zone
        )
        response = upload(admin_client, content)
        assert response.status_code == 200
        assert "confirm_form" not in response.context
        invalid = {row.number: row.error_dict for row in response.context["result"].invalid_rows}
        assert set(invalid) == {3, 5, 7, 8, 9, 10, 11}
        assert "not a valid phone number" in invalid[3]["phone_number"][0]
        assert "Mars/Olympus" in invalid[5]["timezone"][0]
        assert "3 digits" in invalid[7]["operator_code"][0]
        assert invalid[8]["phone_number"] == ["79001234567 is also on line 2."]
        assert "at most 64 characters" in invalid[9]["tag"][0]
        assert "5 values" in invalid[10]["__all__"][0]
        assert "blank" in invalid[11]["timezone"][0]
        page = response.content.decode()
        assert "7 lines to fix" in page
        assert "Nothing was imported" in page
        assert Client.objects.count() == 0

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (
                "phone_number;tag;timezone\n79001234567;тег;UTC\n".encode("cp1251"),
                "not UTF-8 text (byte 0xf2 on line 2)",
            ),
            (b"", "The submitted file is empty"),
            (b"\n\n", "The file is empty: its first line must name the columns"),
            (b"phone_number;tag\n79001234567;x\n", "Missing column &#x27;timezone&#x27;"),
            (b"phone_number;tag;timezone;e-mail\n", "&#x27;e-mail&#x27; is not a valid attribute name"),
            (b"phone_number;tag;tag;timezone\n", "Column &#x27;tag&#x27; appears more than once"),
            (b"phone_number;tag;timezone\n", "No valid data to import"),
            (b"phone_number;tag;timezone\n7900\x00;x;UTC\n", "NUL bytes"),
            (b'phone_number;tag;timezone\n79001234567;"x;UTC\n', "Line 2: the CSV cannot be read"),
        ],
        ids=[
            "cp1251",
            "empty",
            "blank-lines",
            "missing-column",
            "unknown-column",
            "repeated-column",
            "no-rows",
            "nul",
            "open-quote",
        ],
    )
    def test_a_file_that_cannot_be_read_says_why(self, admin_client, content, message):
        response = upload(admin_client, content)
        assert response.status_code == 200
        assert message in response.content.decode()
        assert "confirm_form" not in response.context
        assert Client.objects.count() == 0
        assert uploads_kept() == []

    def test_a_wrong_column_lists_a_hundred_lines_and_counts_the_rest(self, admin_client):
        rows = [f"7900{n:07d};x;MSK+1" for n in range(150)] + ["7000;x;UTC"]
        response = upload(admin_client, table(*rows, header="phone_number;tag;timezone"))
        page = response.content.decode()
        assert "151 lines to fix" in page
        assert "<strong>timezone</strong>: wrong on 150 lines" in page
        assert "<strong>phone_number</strong>: wrong on 1 line<" in page
        assert "The first 100 of them" in page
        assert len(response.context["result"].invalid_rows) == 100
        assert Client.objects.count() == 0

    def test_an_unclosed_quote_is_reported_where_it_opens(self, admin_client):
        rows = [f"7900123456{n};x;UTC" for n in range(5)]
        rows.insert(1, '79001234599;"vip;UTC')  # line 3
        response = upload(admin_client, table(*rows, header="phone_number;tag;timezone"))
        assert "Line 3: the CSV cannot be read from there" in response.content.decode()
        assert uploads_kept() == []

    def test_a_file_too_big_for_one_request_is_refused(self, admin_client, settings):
        settings.CLIENT_IMPORT_MAX_ROWS = 2
        response = upload(admin_client, table("79001234567;;;UTC", "79001234568;;;UTC", "79001234569;;;UTC"))
        assert "More than 2 lines besides the header" in response.content.decode()
        assert Client.objects.count() == 0
        assert uploads_kept() == []

    @pytest.mark.parametrize(
        "content",
        [
            "phone_number;tag;timezone\n79001234567;;UTC\n" + "\n" * 5,
            "\n" * 5 + "phone_number;tag;timezone\n79001234567;;UTC\n",
            "phone_number;tag;timezone\n79001234567;;UTC\n" + " ; ;\r\n" * 5,
        ],
        ids=["blank-lines-after", "blank-lines-before", "blank-cells"],
    )
    def test_blank_lines_count_toward_the_limit(self, admin_client, settings, content):
        """A file of blank lines is no smaller for the web process than one of clients."""
        settings.CLIENT_IMPORT_MAX_ROWS = 5
        response = upload(admin_client, content)
        assert "More than 5 lines besides the header" in response.content.decode()
        assert uploads_kept() == []
        settings.CLIENT_IMPORT_MAX_ROWS = 6
        assert "confirm_form" in upload(admin_client, content).context

    def test_a_line_far_longer_than_any_client_is_refused(self, admin_client):
        """Sixty megabytes of separators on one line would be sixty million cells in memory."""
        response = upload(admin_client, table("79001234567;;x;UTC", "79001234568" + ";" * 200_000))
        assert "Line 3 is 200,011 characters long" in response.content.decode()
        assert uploads_kept() == []

    def test_a_file_over_the_size_limit_is_refused_before_it_is_read(self, admin_client, settings):
        settings.CLIENT_IMPORT_MAX_MB = 0.001  # 1,048 bytes
        rows = [f"7900123{n:04d};;;UTC" for n in range(100)]  # about 2 KB, every row good
        response = upload(admin_client, table(*rows))
        assert response.status_code == 200
        assert response.context["form"].errors["import_file"] == [
            "This file is 0.0 MB; at most 0.001 MB can be imported at once (CLIENT_IMPORT_MAX_MB). "
            "Split it into smaller files."
        ]
        assert "confirm_form" not in response.context
        assert "at most 0.001 MB can be imported at once" in response.content.decode()
        assert "result" not in response.context  # not read, let alone checked
        settings.CLIENT_IMPORT_MAX_MB = 0.01
        assert "confirm_form" in upload(admin_client, table(*rows)).context
        assert Client.objects.count() == 0

    def test_only_an_upload_that_can_be_confirmed_is_kept(self, admin_client):
        good = upload(admin_client, table("79001234567;;;UTC"))
        assert "confirm_form" in good.context
        assert uploads_kept() == [good.context["confirm_form"].initial["import_file_name"]]
        bad = upload(admin_client, table("79001234567;;;UTC", "7900;;;UTC"))
        assert "confirm_form" not in bad.context
        assert uploads_kept() == [good.context["confirm_form"].initial["import_file_name"]]
        confirm(admin_client, good)
        assert uploads_kept() == []

    def test_an_upload_refused_at_its_confirmation_is_removed(self, admin_client, settings):
        preview = upload(admin_client, table("79001234567;;;UTC", "79001234568;;;UTC"))
        settings.CLIENT_IMPORT_MAX_ROWS = 1  # the file is read again, under the settings of then
        response = confirm(admin_client, preview, follow=True)
        assert "More than 1 lines besides the header" in response.content.decode()
        assert uploads_kept() == []
        assert Client.objects.count() == 0

    def test_an_upload_whose_preview_breaks_is_not_kept(self, admin_client, monkeypatch):
        def broken(**kwargs):
            raise RuntimeError("database gone")

        monkeypatch.setattr(services, "client_import_plan", broken)
        with pytest.raises(RuntimeError):
            upload(admin_client, table("79001234567;;;UTC"))
        assert uploads_kept() == []

    def test_an_upload_waits_in_a_private_file_not_in_redis(self, admin_client, upload_dir):
        """Not in the cache's Redis, which is the broker's server too: sixty megabytes there
        would crowd out the queues."""
        preview = upload(admin_client, table("79001234567;;;UTC"))
        name = preview.context["confirm_form"].initial["import_file_name"]
        assert (upload_dir / name).read_bytes() == table("79001234567;;;UTC").encode()
        assert (upload_dir / name).stat().st_mode & 0o777 == 0o600
        assert upload_dir.stat().st_mode & 0o777 == 0o700
        for url in {django_settings.CACHES["default"]["LOCATION"], django_settings.REDIS_URL}:
            assert not list(redis.Redis.from_url(url).scan_iter(match=f"*{name}*"))

    def test_an_upload_folder_others_may_write_to_is_refused(self, admin_client, upload_dir):
        """In a shared /tmp another user could make the folder first and swap an upload."""
        upload_dir.mkdir(mode=0o777)
        upload_dir.chmod(0o777)
        with pytest.raises(ImproperlyConfigured, match="no one else may write to"):
            upload(admin_client, table("79001234567;;;UTC"))
        assert uploads_kept() == []

    def test_an_upload_waits_its_keep_time_for_the_confirmation(self, admin_client, settings, upload_dir):
        settings.CLIENT_IMPORT_KEEP_SECONDS = 60
        preview = upload(admin_client, table("79001234567;;;UTC"))
        kept = upload_dir / preview.context["confirm_form"].initial["import_file_name"]
        saved = kept.stat().st_mtime
        os.utime(kept, (saved - 61, saved - 61))  # saved 61 s ago, as far as the folder says
        other = upload(admin_client, table("79001234568;;;UTC"))  # a later upload sweeps it away
        assert uploads_kept() == [other.context["confirm_form"].initial["import_file_name"]]
        response = confirm(admin_client, preview, follow=True)
        assert "no longer kept (it waits 1 minute for its confirmation)" in response.content.decode()
        assert Client.objects.count() == 0

    def test_an_upload_past_its_keep_time_is_not_read(self, admin_client, settings, upload_dir):
        settings.CLIENT_IMPORT_KEEP_SECONDS = 60
        preview = upload(admin_client, table("79001234567;;;UTC"))
        kept = upload_dir / preview.context["confirm_form"].initial["import_file_name"]
        os.utime(kept, (kept.stat().st_mtime - 61,) * 2)
        response = confirm(admin_client, preview, follow=True)
        assert "no longer kept" in response.content.decode()
        assert Client.objects.count() == 0
        assert uploads_kept() == []

    def test_a_failed_write_leaves_nothing(self, monkeypatch):
        from mailings import upserts

        real = upserts.upsert_clients

        def write_then_fail(rows, **kwargs):
            real(rows, **kwargs)
            assert Client.objects.count() == 2  # written, inside the transaction
            raise RuntimeError("connection lost")

        monkeypatch.setattr(client_services, "upsert_clients", write_then_fail)
        rows = [ClientRow("79001234567", "900", "", "UTC"), ClientRow("79001234568", "900", "", "UTC")]
        with pytest.raises(RuntimeError):
            services.client_import(records=rows)
        assert Client.objects.count() == 0


def export_request(client, query: str = ""):
    """The export page's form, sent: every column, CSV."""
    return client.post(
        f"{EXPORT}{query}",
        {
            "format": 0,
            "resource": 0,
            **{f"clientresource_{c}": "on" for c in ("phone_number", "operator_code", "tag", "timezone")},
        },
    )


class TestExport:
    def export(self, client, query: str = "") -> list[list[str]]:
        response = export_request(client, query)
        assert response.status_code == 200, response.content[:500]
        assert response["Content-Type"].startswith("text/csv")
        assert response.streaming
        return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))

    def test_export_round_trips_and_neutralises_formulas(self, admin_client):
        ClientFactory(phone_number="79001234567", operator_code="900", tag="=cmd|' /C calc'!A0", timezone="UTC")
        ClientFactory(phone_number="79001234568", operator_code="900", tag="@SUM(1+1)", timezone="Etc/GMT-3")
        ClientFactory(phone_number="79001234569", operator_code="901", tag="plain", timezone="UTC")
        rows = self.export(admin_client)
        assert rows[0] == ["phone_number", "operator_code", "tag", "timezone"]
        assert rows[1:] == [
            ["79001234567", "900", "'=cmd|' /C calc'!A0", "UTC"],
            ["79001234568", "900", "'@SUM(1+1)", "Etc/GMT-3"],
            ["79001234569", "901", "plain", "UTC"],
        ]
        before = clients()
        text = io.StringIO()
        csv.writer(text).writerows(rows)
        preview = upload(admin_client, text.getvalue())
        assert "3 already as in the file" in preview.content.decode()
        confirm(admin_client, preview)
        assert clients() == before

    @pytest.mark.parametrize(
        "tag",
        ["x;=1+1;", 'ok;=HYPERLINK("http://evil.example";"click");', "a\t=1+1", "a,=1+1", 'a;"=1+1"', "v;'=2"],
    )
    def test_no_reader_of_the_export_finds_a_formula_and_it_imports_back(self, admin_client, tag):
        """Whichever of `,`, `;` or tab a spreadsheet splits the lines on (Excel takes the locale's
        list separator: `;` in most of Europe), no cell it makes starts a formula."""
        ClientFactory(phone_number="79001234567", operator_code="900", tag=tag, timezone="UTC")
        response = admin_client.post(
            EXPORT, {"format": 0, "resource": 0, **{f"clientresource_{c}": "on" for c in COLUMNS}}
        )
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        for separator in (",", ";", "\t"):
            cells = [cell for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator) for cell in row]
            assert not [cell for cell in cells if cell.lstrip().startswith(("=", "+", "-", "@"))], separator
        before = clients()
        confirm(admin_client, upload(admin_client, text))
        assert clients() == before

    def test_the_library_export_path_is_as_safe(self, rf, admin_user):
        """django-import-export's own export (tablib's CSV through our format), if a page ever uses it."""
        ClientFactory(phone_number="79001234567", operator_code="900", tag="x;=1+1;", timezone="UTC")
        request = rf.post(EXPORT)
        request.user = admin_user
        data = ClientAdmin(Client, admin.site).get_export_data(ClientCSV(), request, Client.objects.all())
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.removeprefix("\ufeff")
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
        assert not [cell for row in rows for cell in row if cell.lstrip().startswith("=")]

    def test_the_file_goes_out_in_pieces(self):
        from mailings.client_csv import csv_chunks

        rows = [(f"7900000000{n}", "x") for n in range(5)]
        chunks = list(csv_chunks(["phone_number", "tag"], iter(rows), per_chunk=2))
        assert len(chunks) == 3
        assert list(csv.reader(io.StringIO("".join(chunks).removeprefix("\ufeff")))) == [
            ["phone_number", "tag"],
            *map(list, rows),
        ]

    def test_export_follows_the_change_list_filter(self, admin_client):
        ClientFactory(phone_number="79001234567", tag="vip", timezone="UTC")
        ClientFactory(phone_number="79001234568", tag="other", timezone="UTC")
        rows = self.export(admin_client, "?tag=vip")
        assert [row[0] for row in rows[1:]] == ["79001234567"]


def staff_with(django_user_model, client, *codenames: str):
    """`client` logged in as a staff user holding only these permissions of `mailings`."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(username="holder", password="pw-123456-x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="mailings", codename__in=codenames))
    client.force_login(user)
    return client


def exported_phones(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    return [row[0] for row in rows[1:]]


class TestExportPermission:
    """Exporting the directory needs `export_client` (and `view_client`): Operators, not Viewers."""

    def test_a_viewer_sees_no_export_and_is_refused_it(self, viewer):
        ClientFactory(phone_number="79001234567", tag="x", timezone="UTC")
        page = viewer.get(CLIENTS)
        assert page.status_code == 200
        assert EXPORT not in page.content.decode()
        assert viewer.get(EXPORT).status_code == 403
        refused = export_request(viewer)
        assert refused.status_code == 403
        assert not refused.streaming
        assert "79001234567" not in refused.content.decode()

    def test_the_librarys_own_export_refuses_a_viewer_too(self, viewer, rf):
        from django.core.exceptions import PermissionDenied

        request = rf.post(EXPORT)
        request.user = viewer.get(CLIENTS).wsgi_request.user
        with pytest.raises(PermissionDenied):
            ClientAdmin(Client, admin.site).get_export_data(ClientCSV(), request, Client.objects.all())

    def test_an_operator_exports(self, operator):
        ClientFactory(phone_number="79001234567", tag="x", timezone="UTC")
        assert EXPORT in operator.get(CLIENTS).content.decode()
        assert operator.get(EXPORT).status_code == 200
        assert exported_phones(export_request(operator)) == ["79001234567"]

    def test_view_and_export_are_enough(self, django_user_model, client):
        ClientFactory(phone_number="79001234567", tag="x", timezone="UTC")
        holder = staff_with(django_user_model, client, "view_client", "export_client")
        page = holder.get(CLIENTS).content.decode()
        assert EXPORT in page
        assert IMPORT not in page
        assert exported_phones(export_request(holder)) == ["79001234567"]

    def test_export_without_view_opens_nothing(self, django_user_model, client):
        ClientFactory(phone_number="79001234567", tag="x", timezone="UTC")
        holder = staff_with(django_user_model, client, "export_client")
        assert holder.get(CLIENTS).status_code == 403
        assert holder.get(EXPORT).status_code == 403
        assert export_request(holder).status_code == 403


class TestAccess:
    def test_a_viewer_has_no_import(self, viewer):
        ClientFactory(phone_number="79001234567", tag="x", timezone="UTC")
        page = viewer.get(CLIENTS).content.decode()
        assert IMPORT not in page
        assert viewer.get(IMPORT).status_code == 403
        assert upload(viewer, table("79001234568;;x;UTC")).status_code == 403
        assert (
            viewer.post(CONFIRM, {"import_file_name": "x", "original_file_name": "x", "format": 0}).status_code == 403
        )
        assert Client.objects.count() == 1

    def test_adding_without_changing_is_not_enough_to_import(self, django_user_model, client, caplog):
        staff_with(django_user_model, client, "add_client", "view_client")
        ClientFactory(phone_number="79001234567", tag="old", timezone="UTC")
        assert IMPORT not in client.get(CLIENTS).content.decode()
        assert upload(client, table("79001234567;;new;UTC")).status_code == 403
        assert Client.objects.get().tag == "old"

    def test_an_operator_imports(self, operator):
        assert IMPORT in operator.get(CLIENTS).content.decode()
        confirm(operator, upload(operator, table("79001234568;;x;UTC")))
        assert Client.objects.filter(phone_number="79001234568").exists()


class TestZonesAsPeopleReadThem:
    def test_the_preview_shows_offsets_as_utc_plus(self, admin_client):
        page = upload(admin_client, table("79001234567;;;GMT+3", "79131234567;;;-5", "79991112233;;;UTC+05:30")).content

        assert b"UTC+03:00" in page
        assert b"UTC-05:00" in page
        assert b"UTC+05:30" in page
        assert b"Etc/GMT" not in page

    def test_the_client_list_and_its_zone_filter_too(self, admin_client):
        ClientFactory(timezone="Etc/GMT-3")
        ClientFactory(timezone="Europe/Moscow")

        page = admin_client.get(CLIENTS).content.decode()

        assert page.count("UTC+03:00") == 2  # the row and the filter
        assert "Europe/Moscow" in page
        assert "Etc/GMT-3</" not in page
        assert "?timezone=Etc%2FGMT-3" in page  # the filter still selects the stored name
