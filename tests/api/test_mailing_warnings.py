"""/mailings/ create and update answer why a mailing would send nothing (`warnings`), and save it
all the same: integrations of the original API send such mailings."""

import pytest
import yaml
from django.core.management import call_command

from mailings.models import Mailing
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db

# 12:00-14:00 UTC: 21:00-23:00 in Tokyo.
PAYLOAD = {
    "start_datetime": "2030-01-15T12:00:00Z",
    "end_datetime": "2030-01-15T14:00:00Z",
    "message_text": "Hello!",
}


def codes(body: dict) -> list[str]:
    return [warning["code"] for warning in body["warnings"]]


class TestWarnings:
    def test_a_mailing_that_can_send_has_none(self, api):
        ClientFactory()
        response = api.post("/mailings/", PAYLOAD, format="json")
        assert response.status_code == 201
        assert response.json()["warnings"] == []

    def test_a_window_no_client_reaches_is_saved_and_said(self, api):
        ClientFactory(timezone="Asia/Tokyo")
        response = api.post(
            "/mailings/", {**PAYLOAD, "send_window_start": "09:00", "send_window_end": "10:00"}, format="json"
        )

        assert response.status_code == 201
        (warning,) = response.json()["warnings"]
        assert warning["code"] == "window_unreachable"
        assert warning["message"].startswith("The sending window 09:00-10:00 (client's local time) opens for none")
        assert Mailing.objects.get().send_window_start.hour == 9

    def test_an_update_answers_the_warnings_of_the_mailing_as_saved(self, api):
        ClientFactory(tag="vip")
        mailing_id = api.post("/mailings/", {**PAYLOAD, "filter_tag": "vip"}, format="json").json()["id"]

        emptied = api.patch(f"/mailings/{mailing_id}/", {"filter_tag": "nobody"}, format="json")
        assert emptied.status_code == 200
        assert codes(emptied.json()) == ["audience_empty"]
        assert Mailing.objects.get().filter_tag == "nobody"

        put = api.put(f"/mailings/{mailing_id}/", {**PAYLOAD, "filter_tag": "vip"}, format="json")
        assert put.status_code == 200
        assert codes(put.json()) == []

    def test_reads_do_not_carry_them(self, api):
        mailing_id = api.post("/mailings/", PAYLOAD, format="json").json()["id"]
        assert "warnings" not in api.get(f"/mailings/{mailing_id}/").json()
        assert "warnings" not in api.get("/mailings/").json()[0]

    def test_a_posted_warnings_list_is_ignored(self, api):
        ClientFactory()
        response = api.post("/mailings/", {**PAYLOAD, "warnings": [{"code": "x", "message": "y"}]}, format="json")
        assert response.status_code == 201
        assert response.json()["warnings"] == []


def test_the_schema_documents_them_on_create_and_update_answers(tmp_path):
    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    schema = yaml.safe_load(path.read_text())
    components = schema["components"]["schemas"]

    for method, url in (("post", "/mailings/"), ("put", "/mailings/{id}/"), ("patch", "/mailings/{id}/")):
        answer = schema["paths"][url][method]["responses"]
        ok = answer.get("201", answer.get("200"))
        assert ok["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/MailingSaved", method
    warnings = components["MailingSaved"]["properties"]["warnings"]
    assert warnings["readOnly"] is True
    item = components[warnings["items"]["$ref"].rsplit("/", 1)[1]]
    assert set(item["properties"]) == {"code", "message"}
    assert "warnings" not in components["Mailing"]["properties"]
