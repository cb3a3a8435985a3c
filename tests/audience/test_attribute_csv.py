"""Client attributes in the CSV import (extra columns) and the export (back as columns)."""

import csv
import io

import pytest

from mailings.models import Client
from tests.admin.test_client_import import confirm, export_request, table, upload
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
HEADER = "phone_number;operator_code;tag;timezone;first_name;contract"


def attributes() -> dict[str, dict]:
    return {c.phone_number: c.attributes for c in Client.objects.all()}


class TestImport:
    def test_extra_columns_become_attributes_and_an_empty_cell_means_none(self, admin_client):
        preview = upload(admin_client, table("79001234567;;x;UTC;Anna;A-1", "79001234568;;x;UTC;;B-2", header=HEADER))
        assert attributes() == {}  # the preview writes nothing
        confirm(admin_client, preview)
        assert attributes() == {
            "79001234567": {"first_name": "Anna", "contract": "A-1"},
            "79001234568": {"contract": "B-2"},
        }

    def test_a_file_sets_its_columns_and_keeps_the_clients_other_attributes(self, admin_client):
        ClientFactory(
            phone_number="79001234567", tag="x", timezone="UTC", attributes={"first_name": "Old", "city": "Omsk"}
        )
        ClientFactory(phone_number="79001234568", tag="x", timezone="UTC", attributes={"contract": "Z"})
        preview = upload(admin_client, table("79001234567;;x;UTC;Anna;A-1", "79001234568;;x;UTC;;", header=HEADER))
        assert preview.context["result"].totals["update"] == 2  # only attributes change: still an update
        confirm(admin_client, preview)
        assert attributes() == {
            "79001234567": {"first_name": "Anna", "contract": "A-1", "city": "Omsk"},
            "79001234568": {},
        }

    def test_a_file_without_attribute_columns_leaves_attributes_alone(self, admin_client):
        ClientFactory(phone_number="79001234567", tag="x", timezone="UTC", attributes={"first_name": "Anna"})
        confirm(admin_client, upload(admin_client, table("79001234567;;y;UTC")))
        client = Client.objects.get()
        assert (client.tag, client.attributes) == ("y", {"first_name": "Anna"})

    def test_a_bad_value_refuses_the_file_naming_line_and_column_and_changes_nothing(self, admin_client):
        ClientFactory(phone_number="79001234567", tag="x", timezone="UTC", attributes={"first_name": "Anna"})
        response = upload(
            admin_client, table("79001234567;;x;UTC;Ann;A-1", "79001234568;;x;UTC;" + "y" * 201 + ";B", header=HEADER)
        )
        result = response.context["result"]
        assert [(row.number, list(row.error_dict)) for row in result.invalid_rows] == [(3, ["first_name"])]
        assert "the value of &#x27;first_name&#x27; is 201 characters" in response.content.decode()
        assert "confirm_form" not in response.context or response.context["confirm_form"] is None
        assert attributes() == {"79001234567": {"first_name": "Anna"}}

    def test_a_bad_attribute_column_refuses_the_file_naming_it(self, admin_client):
        response = upload(admin_client, table("79001234567;;x;UTC;1", header="phone_number;tag;timezone;1st"))
        assert "Column &#x27;1st&#x27; in the first line" in response.content.decode()
        assert not Client.objects.exists()


class TestExport:
    def test_attributes_go_out_as_columns_and_import_back(self, admin_client):
        ClientFactory(phone_number="79001234567", tag="x", timezone="UTC", attributes={"first_name": "=Anna"})
        ClientFactory(phone_number="79001234568", tag="x", timezone="UTC", attributes={"contract": "B-2"})
        ClientFactory(phone_number="79001234569", tag="x", timezone="UTC")
        response = export_request(admin_client)
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
        assert rows[0] == ["phone_number", "operator_code", "tag", "timezone", "contract", "first_name"]
        assert [row[4:] for row in rows[1:]] == [["", "'=Anna"], ["B-2", ""], ["", ""]]
        before = attributes()
        Client.objects.update(attributes={})
        text = io.StringIO()
        csv.writer(text).writerows(rows)
        confirm(admin_client, upload(admin_client, text.getvalue()))
        assert attributes() == before
