"""Client attributes through /clients/, placeholders checked when a mailing is saved, parts in statistics."""

import pytest

from mailings.models import Client, Mailing, Message, MessageCount
from tests.factories import ClientFactory, MailingFactory

pytestmark = pytest.mark.django_db


def _mailing(**overrides) -> dict:
    return {
        "start_datetime": "2030-01-01T09:00:00Z",
        "end_datetime": "2030-01-02T09:00:00Z",
        "message_text": "Hello!",
        **overrides,
    }


class TestClientAttributes:
    def test_they_are_written_and_read_as_text(self, api):
        response = api.post(
            "/clients/",
            {"phone_number": "79131234567", "timezone": "UTC", "attributes": {"first_name": "Anna", "bonus": 150}},
            format="json",
        )
        assert response.status_code == 201, response.content
        assert response.json()["attributes"] == {"first_name": "Anna", "bonus": "150"}
        assert Client.objects.get().attributes == {"first_name": "Anna", "bonus": "150"}

    def test_a_write_replaces_them_and_an_empty_value_removes_one(self, api):
        client = ClientFactory(attributes={"first_name": "Anna", "contract": "A-1"})
        response = api.patch(
            f"/clients/{client.pk}/", {"attributes": {"first_name": "Ann", "contract": ""}}, format="json"
        )
        assert response.status_code == 200, response.content
        client.refresh_from_db()
        assert client.attributes == {"first_name": "Ann"}

    @pytest.mark.parametrize(
        ("attributes", "words"),
        [
            ({"First Name": "x"}, "'First Name' is not a valid attribute name"),
            ({"tag": "x"}, "'tag' is a client field"),
            ({"a": True}, "the value of 'a' must be text"),
            ({"a": "x" * 201}, "the value of 'a' is 201 characters"),
            ("Anna", "attributes must be an object"),
        ],
    )
    def test_bad_ones_are_refused_naming_the_field_and_the_key(self, api, attributes, words):
        response = api.post(
            "/clients/", {"phone_number": "79131234567", "timezone": "UTC", "attributes": attributes}, format="json"
        )
        assert response.status_code == 400
        assert words in " ".join(response.json()["attributes"]), response.json()
        assert not Client.objects.exists()


class TestPlaceholdersOnSave:
    def test_a_text_whose_names_the_audience_carries_is_saved(self, api):
        ClientFactory(attributes={"first_name": "Anna", "contract": "A"})
        ClientFactory(attributes={"contract": "B"})
        text = "{first_name|customer}, code {contract}, {phone_number}"
        response = api.post("/mailings/", _mailing(message_text=text), format="json")
        assert response.status_code == 201, response.content

    @pytest.mark.parametrize(
        ("text", "words"),
        [
            ("Hi {a.b}", "{a.b} is not a placeholder"),
            ("Hi {__class__}", "{__class__} is not a placeholder"),
            ("Price { 10", "a lone { at character 7: write {{"),
            ("Hi {nickname|friend}", "{nickname}: no client of the audience has an attribute nickname"),
            ("Code {contract}", "{contract}: 1 of 2 clients of the audience has no contract; give a default"),
        ],
    )
    def test_a_bad_text_is_refused_naming_the_placeholder(self, api, text, words):
        ClientFactory(attributes={"contract": "A"})
        ClientFactory()
        response = api.post("/mailings/", _mailing(message_text=text), format="json")
        assert response.status_code == 400
        assert words in " ".join(response.json()["message_text"]), response.json()
        assert not Mailing.objects.exists()

    def test_the_audience_is_the_filter(self, api):
        ClientFactory(attributes={"contract": "A"}, tag="vip")
        ClientFactory(tag="other")
        response = api.post("/mailings/", _mailing(message_text="{contract}", filter_tag="vip"), format="json")
        assert response.status_code == 201, response.content
        mailing_id = response.json()["id"]
        # Widening the audience to clients who lack it is refused.
        response = api.patch(f"/mailings/{mailing_id}/", {"filter_tag": ""}, format="json")
        assert response.status_code == 400
        assert "1 of 2 clients" in " ".join(response.json()["message_text"])

    def test_the_parts_limit_counts_the_defaults(self, api, settings):
        settings.MAILING_MAX_PARTS = 1
        ClientFactory(attributes={"a": "x"})
        response = api.post("/mailings/", _mailing(message_text="{a|" + "d" * 150 + "} " + "t" * 20), format="json")
        assert response.status_code == 400
        assert "2 SMS parts" in " ".join(response.json()["message_text"])


class TestAdminRefusesToo:
    def test_the_mailing_form_names_the_placeholder(self, admin_client):
        ClientFactory()
        response = admin_client.post(
            "/admin/mailings/mailing/add/",
            {
                "message_text": "Hi {nickname}",
                "start_datetime_0": "2030-01-01",
                "start_datetime_1": "09:00:00",
                "end_datetime_0": "2030-01-02",
                "end_datetime_1": "09:00:00",
                "send_window_start": "",
                "send_window_end": "",
                "filter_operator_code": "",
                "filter_tag": "",
            },
        )
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors["message_text"]
        assert "{nickname}: no client of the audience has an attribute nickname" in " ".join(errors)
        assert not Mailing.objects.exists()

    def test_the_client_form_takes_json_and_names_a_bad_key(self, admin_client):
        fields = {"phone_number": "79131234567", "timezone": "UTC", "tag": "", "operator_code": ""}
        response = admin_client.post("/admin/mailings/client/add/", {**fields, "attributes": '{"Bad key": "x"}'})
        assert response.status_code == 200
        assert "'Bad key' is not a valid attribute name" in " ".join(
            response.context["adminform"].form.errors["attributes"]
        )
        response = admin_client.post("/admin/mailings/client/add/", {**fields, "attributes": '{"first_name": "Anna"}'})
        assert response.status_code == 302
        assert Client.objects.get().attributes == {"first_name": "Anna"}


class TestPartsInStatistics:
    def test_the_statistics_say_the_parts_sent(self, api):
        mailing = MailingFactory()
        client = ClientFactory()
        Message.objects.create(mailing=mailing, client=client, phone_number=client.phone_number, status="sent", parts=3)
        assert MessageCount.objects.filter(mailing_id=mailing.pk, status="sent").get().parts == 3
        assert api.get(f"/mailings/{mailing.pk}/statistics/").json()["parts_sent"] == 3
        overall = api.get("/mailings/statistics/").json()
        assert [m["parts_sent"] for m in overall["mailings"]] == [3]

    def test_the_admin_statistics_list_shows_them(self, admin_client):
        mailing = MailingFactory()
        client = ClientFactory()
        Message.objects.create(mailing=mailing, client=client, phone_number=client.phone_number, status="sent", parts=7)
        response = admin_client.get("/admin/mailings/mailingstatistics/")
        assert response.status_code == 200
        assert response.context["totals"]["parts_sent"] == 7
        assert '<td class="field-parts_sent">7</td>' in response.content.decode()
