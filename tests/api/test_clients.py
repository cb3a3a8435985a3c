"""/clients/: the directory of phones, its validation, filters and deletion rules."""

import pytest

from mailings.models import Client, Message
from tests.factories import ClientFactory, MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db

CLIENT_KEYS = {"id", "phone_number", "operator_code", "tag", "timezone", "attributes"}
ORIGINAL_EXAMPLE = {"phone_number": "70000000000", "operator_code": "913", "tag": "new_client", "timezone": "GMT+3"}


def _payload(**overrides) -> dict:
    return {"phone_number": "79131234567", "timezone": "Europe/Moscow", **overrides}


class TestClientCreate:
    def test_it_creates_the_original_api_example_and_normalises_the_timezone(self, api):
        response = api.post("/clients/", ORIGINAL_EXAMPLE, format="json")

        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == CLIENT_KEYS
        client = Client.objects.get()
        assert body == {
            "id": client.pk,
            "phone_number": "70000000000",
            "operator_code": "913",
            "tag": "new_client",
            "timezone": "Etc/GMT-3",
            "attributes": {},
        }
        assert (client.phone_number, client.operator_code, client.tag, client.timezone) == (
            "70000000000",
            "913",
            "new_client",
            "Etc/GMT-3",
        )

    def test_it_refuses_the_original_example_phone_that_does_not_start_with_7(self, api):
        response = api.post("/clients/", {**ORIGINAL_EXAMPLE, "phone_number": "90000000000"}, format="json")

        assert response.status_code == 400
        assert "phone_number" in response.json()
        assert not Client.objects.exists()

    def test_it_strips_phone_formatting(self, api):
        response = api.post("/clients/", _payload(phone_number="+7 (913) 111-11-11"), format="json")

        assert response.status_code == 201, response.content
        assert response.json()["phone_number"] == "79131111111"
        assert Client.objects.get().phone_number == "79131111111"

    def test_it_reads_the_trunk_prefix_8_as_7(self, api):
        response = api.post("/clients/", _payload(phone_number="8 (913) 111-11-11"), format="json")

        assert response.status_code == 201, response.content
        assert (response.json()["phone_number"], response.json()["operator_code"]) == ("79131111111", "913")

    def test_it_derives_a_missing_operator_code_from_the_phone(self, api):
        response = api.post("/clients/", _payload(phone_number="79131234567"), format="json")

        assert response.status_code == 201, response.content
        assert response.json()["operator_code"] == "913"
        assert Client.objects.get().operator_code == "913"

    def test_it_derives_an_empty_operator_code_from_the_phone(self, api):
        response = api.post("/clients/", _payload(phone_number="79261234567", operator_code=""), format="json")

        assert response.status_code == 201, response.content
        assert response.json()["operator_code"] == "926"
        assert Client.objects.get().operator_code == "926"

    def test_it_defaults_the_tag_to_empty(self, api):
        response = api.post("/clients/", _payload(), format="json")

        assert response.status_code == 201, response.content
        assert response.json()["tag"] == ""
        assert Client.objects.get().tag == ""

    @pytest.mark.parametrize(
        ("given", "stored"),
        [
            ("GMT+3", "Etc/GMT-3"),
            ("UTC+03:00", "Etc/GMT-3"),
            ("+3", "Etc/GMT-3"),
            ("UTC-5:30", "UTC-05:30"),
            ("utc", "UTC"),
            ("europe/moscow", "Europe/Moscow"),
        ],
    )
    def test_it_normalises_timezone_spellings(self, api, given, stored):
        response = api.post("/clients/", _payload(timezone=given), format="json")

        assert response.status_code == 201, response.content
        assert response.json()["timezone"] == stored
        assert Client.objects.get().timezone == stored

    @pytest.mark.parametrize(
        ("given", "stored"),
        [(3, "Etc/GMT-3"), ("3", "Etc/GMT-3"), (0, "UTC"), ("0", "UTC"), (-5, "Etc/GMT+5"), (14, "Etc/GMT-14")],
    )
    def test_it_reads_a_whole_number_as_an_hour_offset_east_and_west(self, api, given, stored):
        response = api.post("/clients/", _payload(timezone=given), format="json")

        assert response.status_code == 201, response.content
        assert response.json()["timezone"] == stored
        assert Client.objects.get().timezone == stored

    @pytest.mark.parametrize("timezone", ["Mars/Olympus", "GMT+15", "", 15, -13, -100, 3.5, True])
    def test_it_refuses_an_unknown_timezone_naming_the_field(self, api, timezone):
        response = api.post("/clients/", _payload(timezone=timezone), format="json")

        assert response.status_code == 400
        assert set(response.json()) == {"timezone"}
        assert not Client.objects.exists()

    @pytest.mark.parametrize("timezone", [3.5, 3.0, True, ["UTC"]])
    def test_it_says_what_a_time_zone_may_be_when_it_is_neither_text_nor_a_whole_number(self, api, timezone):
        response = api.post("/clients/", _payload(timezone=timezone), format="json")

        assert response.status_code == 400
        assert response.json() == {"timezone": ["Expected a time zone name or a whole number of hours from -12 to 14."]}

    def test_it_refuses_a_duplicate_phone_naming_the_field(self, api):
        ClientFactory(phone_number="79131234567")

        response = api.post("/clients/", _payload(phone_number="+7 913 123 45 67"), format="json")

        assert response.status_code == 400
        assert "phone_number" in response.json()
        assert Client.objects.count() == 1

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("phone_number", ["79131234567"]),
            ("phone_number", True),
            ("phone_number", {"number": "79131234567"}),
            ("timezone", ["UTC"]),
            ("tag", {"name": "vip"}),
            ("tag", ["vip"]),
            ("operator_code", "91"),
            ("operator_code", "abc"),
            ("tag", "x" * 65),
        ],
    )
    def test_it_refuses_wrong_types_and_values_naming_the_field(self, api, field, value):
        response = api.post("/clients/", _payload(**{field: value}), format="json")

        assert response.status_code == 400
        assert field in response.json()
        assert not Client.objects.exists()

    def test_it_accepts_the_phone_as_a_number(self, api):
        response = api.post("/clients/", _payload(phone_number=79131234567), format="json")

        assert response.status_code == 201, response.content
        assert response.json()["phone_number"] == "79131234567"
        assert Client.objects.get().phone_number == "79131234567"

    @pytest.mark.parametrize("missing", ["phone_number", "timezone"])
    def test_it_requires_the_phone_and_the_timezone(self, api, missing):
        payload = _payload()
        del payload[missing]

        response = api.post("/clients/", payload, format="json")

        assert response.status_code == 400
        assert missing in response.json()
        assert not Client.objects.exists()


class TestClientRead:
    def test_it_lists_clients_as_a_json_array_in_id_order(self, api):
        first, second = ClientFactory(), ClientFactory()

        response = api.get("/clients/")

        assert response.status_code == 200
        body = response.json()
        assert isinstance(body, list)
        assert [item["id"] for item in body] == [first.pk, second.pk]
        assert all(set(item) == CLIENT_KEYS for item in body)

    def test_it_retrieves_one_client_in_the_exact_shape(self, api):
        client = ClientFactory(phone_number="79131234567", operator_code="913", tag="vip", timezone="Asia/Omsk")

        response = api.get(f"/clients/{client.pk}/")

        assert response.status_code == 200
        assert response.json() == {
            "id": client.pk,
            "phone_number": "79131234567",
            "operator_code": "913",
            "tag": "vip",
            "timezone": "Asia/Omsk",
            "attributes": {},
        }

    def test_it_answers_404_for_an_unknown_client(self, api):
        response = api.get("/clients/999999/")

        assert response.status_code == 404
        assert "detail" in response.json()


class TestClientUpdate:
    def test_it_replaces_a_client_with_put(self, api):
        client = ClientFactory(phone_number="79001234567", operator_code="900", tag="old", timezone="UTC")

        response = api.put(
            f"/clients/{client.pk}/",
            {"phone_number": "79131112233", "operator_code": "913", "tag": "new", "timezone": "GMT+5"},
            format="json",
        )

        assert response.status_code == 200, response.content
        assert response.json() == {
            "id": client.pk,
            "phone_number": "79131112233",
            "operator_code": "913",
            "tag": "new",
            "timezone": "Etc/GMT-5",
            "attributes": {},
        }
        client.refresh_from_db()
        assert (client.phone_number, client.operator_code, client.tag, client.timezone) == (
            "79131112233",
            "913",
            "new",
            "Etc/GMT-5",
        )

    def test_it_requires_every_required_field_on_put(self, api):
        client = ClientFactory(phone_number="79001234567", timezone="UTC")

        response = api.put(f"/clients/{client.pk}/", {"phone_number": "79131112233"}, format="json")

        assert response.status_code == 400
        assert "timezone" in response.json()
        client.refresh_from_db()
        assert client.phone_number == "79001234567"

    def test_it_patches_one_field_and_keeps_the_others(self, api):
        client = ClientFactory(phone_number="79001234567", operator_code="900", tag="old", timezone="UTC")

        response = api.patch(f"/clients/{client.pk}/", {"tag": "vip"}, format="json")

        assert response.status_code == 200, response.content
        assert response.json()["tag"] == "vip"
        client.refresh_from_db()
        assert (client.phone_number, client.operator_code, client.tag, client.timezone) == (
            "79001234567",
            "900",
            "vip",
            "UTC",
        )

    def test_it_rederives_the_operator_code_when_only_the_phone_is_patched(self, api):
        client = ClientFactory(phone_number="79001234567", operator_code="900")

        response = api.patch(f"/clients/{client.pk}/", {"phone_number": "+7 926 765-43-21"}, format="json")

        assert response.status_code == 200, response.content
        assert response.json()["phone_number"] == "79267654321"
        assert response.json()["operator_code"] == "926"
        client.refresh_from_db()
        assert (client.phone_number, client.operator_code) == ("79267654321", "926")

    def test_it_keeps_an_operator_code_given_with_the_new_phone(self, api):
        client = ClientFactory(phone_number="79001234567", operator_code="900")

        response = api.patch(
            f"/clients/{client.pk}/", {"phone_number": "79267654321", "operator_code": "913"}, format="json"
        )

        assert response.status_code == 200, response.content
        client.refresh_from_db()
        assert (client.phone_number, client.operator_code) == ("79267654321", "913")

    def test_it_refuses_a_patch_to_another_clients_phone(self, api):
        ClientFactory(phone_number="79131234567")
        client = ClientFactory(phone_number="79001234567")

        response = api.patch(f"/clients/{client.pk}/", {"phone_number": "79131234567"}, format="json")

        assert response.status_code == 400
        assert "phone_number" in response.json()
        client.refresh_from_db()
        assert client.phone_number == "79001234567"

    @pytest.mark.parametrize("timezone", ["UTC-5:30", "GMT+3", "UTC"])
    def test_it_accepts_its_own_answer_back_unchanged(self, api, timezone):
        created = api.post("/clients/", _payload(timezone=timezone, tag="vip"), format="json").json()

        response = api.put(f"/clients/{created['id']}/", created, format="json")

        assert response.status_code == 200, response.content
        assert response.json() == created
        client = Client.objects.get()
        assert (client.timezone, client.tag) == (created["timezone"], "vip")

    def test_it_refuses_a_bad_timezone_on_patch(self, api):
        client = ClientFactory(timezone="UTC")

        response = api.patch(f"/clients/{client.pk}/", {"timezone": "GMT+15"}, format="json")

        assert response.status_code == 400
        assert "timezone" in response.json()
        client.refresh_from_db()
        assert client.timezone == "UTC"


class TestClientDelete:
    def test_it_deletes_a_client(self, api):
        client = ClientFactory()

        response = api.delete(f"/clients/{client.pk}/")

        assert response.status_code == 204
        assert response.content == b""
        assert not Client.objects.filter(pk=client.pk).exists()

    def test_it_keeps_the_messages_of_a_deleted_client_and_cancels_only_pending_ones(self, api):
        client = ClientFactory(phone_number="79131234567")
        pending = MessageFactory(client=client, status=Message.Status.PENDING)
        sent = MessageFactory(client=client, status=Message.Status.SENT)
        other = MessageFactory(status=Message.Status.PENDING)

        response = api.delete(f"/clients/{client.pk}/")

        assert response.status_code == 204
        assert not Client.objects.filter(pk=client.pk).exists()
        pending.refresh_from_db()
        sent.refresh_from_db()
        other.refresh_from_db()
        assert (pending.client_id, pending.phone_number, pending.status) == (None, "79131234567", "cancelled")
        assert (sent.client_id, sent.phone_number, sent.status) == (None, "79131234567", "sent")
        assert other.status == "pending"
        assert other.client_id is not None
        assert Message.objects.count() == 3

    def test_it_shows_the_kept_messages_with_a_null_client(self, api):
        client = ClientFactory(phone_number="79131234567")
        message = MessageFactory(client=client, mailing=MailingFactory(), status=Message.Status.SENT)
        api.delete(f"/clients/{client.pk}/")

        response = api.get(f"/messages/{message.pk}/")

        assert response.status_code == 200
        assert response.json()["client"] is None
        assert response.json()["phone_number"] == "79131234567"
        assert response.json()["status"] == "sent"

    def test_it_answers_404_for_an_unknown_client(self, api):
        ClientFactory()

        response = api.delete("/clients/999999/")

        assert response.status_code == 404
        assert Client.objects.count() == 1


class TestClientFilters:
    def test_it_filters_by_tag(self, api):
        vip = ClientFactory(tag="vip")
        ClientFactory(tag="regular")

        response = api.get("/clients/", {"tag": "vip"})

        assert response.status_code == 200
        assert [item["id"] for item in response.json()] == [vip.pk]
        assert response["X-Total-Count"] == "1"

    def test_it_filters_by_operator_code(self, api):
        mts = ClientFactory(phone_number="79131234567", operator_code="913")
        ClientFactory(phone_number="79261234567", operator_code="926")

        response = api.get("/clients/", {"operator_code": "913"})

        assert response.status_code == 200
        assert [item["id"] for item in response.json()] == [mts.pk]

    def test_it_combines_filters(self, api):
        wanted = ClientFactory(phone_number="79131234567", operator_code="913", tag="vip")
        ClientFactory(phone_number="79131234568", operator_code="913", tag="regular")
        ClientFactory(phone_number="79261234567", operator_code="926", tag="vip")

        response = api.get("/clients/", {"operator_code": "913", "tag": "vip"})

        assert response.status_code == 200
        assert [item["id"] for item in response.json()] == [wanted.pk]

    def test_it_answers_an_empty_array_when_nothing_matches(self, api):
        ClientFactory(tag="regular")

        response = api.get("/clients/", {"tag": "nobody"})

        assert response.status_code == 200
        assert response.json() == []
        assert response["X-Total-Count"] == "0"

    @pytest.mark.parametrize("code", ["abc", "91", "9131"])
    def test_it_refuses_a_malformed_operator_code_filter(self, api, code):
        ClientFactory()

        response = api.get("/clients/", {"operator_code": code})

        assert response.status_code == 400
        assert "operator_code" in response.json()


@pytest.mark.django_db
def test_digits_of_other_scripts_are_refused_in_phone_and_operator_code(api):
    """Python's \\d takes Arabic-Indic or full-width digits; a phone is ASCII digits only, whatever
    the database (PostgreSQL's check refused them, SQLite stored them)."""
    arabic = "7" + "\u0663" * 10
    answer = api.post("/clients/", {"phone_number": arabic, "tag": "", "timezone": "UTC"}, format="json")
    assert answer.status_code == 400
    assert "phone_number" in answer.json()
    answer = api.post(
        "/clients/",
        {"phone_number": "79001234567", "operator_code": "\u0669\u0660\u0660", "tag": "", "timezone": "UTC"},
        format="json",
    )
    assert answer.status_code == 400
    assert "operator_code" in answer.json()
    assert not Client.objects.exists()
