"""/mailings/: creation with the original API's example, validation, filters and deletion rules."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from mailings.models import Mailing, Message
from tests.factories import MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db

ORIGINAL_EXAMPLE = {
    "start_datetime": "2023-05-18T09:00:00",
    "message_text": "Third mailing!",
    "filter_operator_code": "913",
    "filter_tag": "new_client",
    "end_datetime": "2023-05-25T18:00:00",
}
MAILING_KEYS = {
    "id",
    "start_datetime",
    "message_text",
    "encoding",
    "segments",
    "filter_operator_code",
    "filter_tag",
    "end_datetime",
    "send_window_start",
    "send_window_end",
    "status",
    "created_at",
    "updated_at",
}


def _payload(**overrides) -> dict:
    return {
        "start_datetime": "2030-01-01T09:00:00Z",
        "end_datetime": "2030-01-02T09:00:00Z",
        "message_text": "Hello!",
        **overrides,
    }


class TestMailingCreate:
    def test_it_creates_the_original_api_example(self, api):
        response = api.post("/mailings/", ORIGINAL_EXAMPLE, format="json")

        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == MAILING_KEYS | {"warnings"}  # its end has passed, nobody matches: saved, and said
        assert [warning["code"] for warning in body["warnings"]] == ["end_passed", "audience_empty"]
        mailing = Mailing.objects.get()
        assert body["id"] == mailing.pk
        assert body["status"] == "scheduled"
        assert body["message_text"] == "Third mailing!"
        assert (body["filter_operator_code"], body["filter_tag"]) == ("913", "new_client")
        assert (body["send_window_start"], body["send_window_end"]) == (None, None)
        assert (mailing.message_text, mailing.filter_operator_code, mailing.filter_tag, mailing.status) == (
            "Third mailing!",
            "913",
            "new_client",
            "scheduled",
        )

    def test_it_reads_naive_datetimes_in_the_configured_time_zone(self, api, settings):
        settings.TIME_ZONE = "Europe/Moscow"

        response = api.post("/mailings/", ORIGINAL_EXAMPLE, format="json")

        assert response.status_code == 201, response.content
        mailing = Mailing.objects.get()
        assert mailing.start_datetime == datetime(2023, 5, 18, 6, 0, tzinfo=UTC)
        assert mailing.end_datetime == datetime(2023, 5, 25, 15, 0, tzinfo=UTC)
        body = response.json()
        assert body["start_datetime"] == "2023-05-18T09:00:00+03:00"
        assert body["end_datetime"] == "2023-05-25T18:00:00+03:00"
        fetched = api.get(f"/mailings/{mailing.pk}/").json()
        assert fetched["start_datetime"] == "2023-05-18T09:00:00+03:00"

    def test_it_keeps_an_explicit_offset(self, api):
        response = api.post(
            "/mailings/",
            _payload(start_datetime="2030-01-01T09:00:00+05:00", end_datetime="2030-01-01T10:00:00+05:00"),
            format="json",
        )

        assert response.status_code == 201, response.content
        mailing = Mailing.objects.get()
        assert mailing.start_datetime == datetime(2030, 1, 1, 4, 0, tzinfo=UTC)
        assert mailing.end_datetime == datetime(2030, 1, 1, 5, 0, tzinfo=UTC)

    def test_it_ignores_a_posted_status(self, api):
        response = api.post("/mailings/", _payload(status="finished"), format="json")

        assert response.status_code == 201, response.content
        assert response.json()["status"] == "scheduled"
        assert Mailing.objects.get().status == "scheduled"

    def test_it_accepts_a_sending_window_across_midnight(self, api):
        response = api.post("/mailings/", _payload(send_window_start="22:00", send_window_end="06:30"), format="json")

        assert response.status_code == 201, response.content
        assert (response.json()["send_window_start"], response.json()["send_window_end"]) == ("22:00:00", "06:30:00")
        mailing = Mailing.objects.get()
        assert (mailing.send_window_start, mailing.send_window_end) == (time(22, 0), time(6, 30))

    @pytest.mark.parametrize(
        "value", ["09:00+03:00", "09:00Z", "2030-01-01T09:00", "25:00", "9", 900, "09:00:00.5+00:00"]
    )
    def test_a_window_time_is_a_bare_time_of_day(self, api, value):
        response = api.post("/mailings/", _payload(send_window_start=value, send_window_end="18:00"), format="json")

        assert response.status_code == 400
        assert "on the client's clock" in response.json()["send_window_start"][0]
        assert not Mailing.objects.exists()

    def test_it_accepts_a_text_of_exactly_1000_characters(self, api):
        response = api.post("/mailings/", _payload(message_text="x" * 1000), format="json")

        assert response.status_code == 201, response.content
        assert len(Mailing.objects.get().message_text) == 1000

    @pytest.mark.parametrize(
        "end",
        ["2030-01-01T08:00:00Z", "2030-01-01T09:00:00Z", "2030-01-01T12:00:00+03:00"],
        ids=["before", "equal", "equal-offset"],
    )
    def test_it_refuses_an_end_not_after_the_start_naming_end_datetime(self, api, end):
        response = api.post("/mailings/", _payload(end_datetime=end), format="json")

        assert response.status_code == 400
        assert "end_datetime" in response.json()
        assert not Mailing.objects.exists()

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"message_text": ""}, "message_text"),
            ({"message_text": "x" * 1531}, "message_text"),  # 11 parts of GSM-7
            ({"message_text": "ж" * 671}, "message_text"),  # 11 parts of UCS-2
            ({"filter_operator_code": "91"}, "filter_operator_code"),
            ({"filter_operator_code": "abc"}, "filter_operator_code"),
            ({"filter_tag": "x" * 65}, "filter_tag"),
            ({"send_window_start": "09:00"}, "send_window_end"),
            ({"send_window_start": "09:00", "send_window_end": "09:00"}, "send_window_end"),
            ({"send_window_start": "9 o'clock", "send_window_end": "18:00"}, "send_window_start"),
            ({"start_datetime": "not a date"}, "start_datetime"),
            ({"end_datetime": "2030-13-45T99:00"}, "end_datetime"),
            ({"start_datetime": None}, "start_datetime"),
        ],
    )
    def test_it_refuses_bad_values_naming_the_field(self, api, overrides, field):
        response = api.post("/mailings/", _payload(**overrides), format="json")

        assert response.status_code == 400
        assert field in response.json(), response.json()
        assert not Mailing.objects.exists()

    def test_it_refuses_only_an_end_of_the_window(self, api):
        response = api.post("/mailings/", _payload(send_window_end="18:00"), format="json")

        assert response.status_code == 400
        assert "send_window_end" in response.json()
        assert not Mailing.objects.exists()

    @pytest.mark.parametrize("missing", ["start_datetime", "end_datetime", "message_text"])
    def test_it_requires_the_dates_and_the_text(self, api, missing):
        payload = _payload()
        del payload[missing]

        response = api.post("/mailings/", payload, format="json")

        assert response.status_code == 400
        assert missing in response.json()
        assert not Mailing.objects.exists()


class TestMailingRead:
    def test_it_lists_mailings_as_a_json_array(self, api):
        first, second = MailingFactory(), MailingFactory()

        response = api.get("/mailings/")

        assert response.status_code == 200
        assert [item["id"] for item in response.json()] == [first.pk, second.pk]
        assert all(set(item) == MAILING_KEYS for item in response.json())

    def test_it_retrieves_one_mailing(self, api):
        mailing = MailingFactory(message_text="Hi", filter_tag="vip", status=Mailing.Status.PAUSED)

        response = api.get(f"/mailings/{mailing.pk}/")

        assert response.status_code == 200
        body = response.json()
        assert (body["id"], body["message_text"], body["filter_tag"], body["status"]) == (
            mailing.pk,
            "Hi",
            "vip",
            "paused",
        )

    def test_it_answers_404_for_an_unknown_mailing(self, api):
        response = api.get("/mailings/999999/")

        assert response.status_code == 404
        assert "detail" in response.json()


class TestMailingFilters:
    def test_it_filters_by_status(self, api):
        running = MailingFactory(status=Mailing.Status.RUNNING)
        MailingFactory(status=Mailing.Status.SCHEDULED)
        MailingFactory(status=Mailing.Status.FINISHED)

        response = api.get("/mailings/", {"status": "running"})

        assert response.status_code == 200
        assert [item["id"] for item in response.json()] == [running.pk]
        assert response["X-Total-Count"] == "1"

    def test_it_refuses_an_unknown_status_naming_it(self, api):
        MailingFactory()

        response = api.get("/mailings/", {"status": "bogus"})

        assert response.status_code == 400
        assert "status" in response.json()


class TestMailingUpdate:
    def test_it_replaces_a_mailing_with_put(self, api):
        mailing = MailingFactory(message_text="old", filter_tag="old")

        response = api.put(
            f"/mailings/{mailing.pk}/",
            _payload(message_text="new", filter_tag="vip", filter_operator_code="913"),
            format="json",
        )

        assert response.status_code == 200, response.content
        assert response.json()["message_text"] == "new"
        mailing.refresh_from_db()
        assert (mailing.message_text, mailing.filter_tag, mailing.filter_operator_code) == ("new", "vip", "913")
        assert mailing.start_datetime == datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
        assert mailing.end_datetime == datetime(2030, 1, 2, 9, 0, tzinfo=UTC)

    def test_it_patches_one_field(self, api):
        mailing = MailingFactory(message_text="old", filter_tag="keep")

        response = api.patch(f"/mailings/{mailing.pk}/", {"message_text": "new"}, format="json")

        assert response.status_code == 200, response.content
        mailing.refresh_from_db()
        assert (mailing.message_text, mailing.filter_tag) == ("new", "keep")

    def test_it_ignores_a_patched_status(self, api):
        mailing = MailingFactory(status=Mailing.Status.SCHEDULED)

        response = api.patch(f"/mailings/{mailing.pk}/", {"status": "cancelled"}, format="json")

        assert response.status_code == 200
        assert response.json()["status"] == "scheduled"
        mailing.refresh_from_db()
        assert mailing.status == "scheduled"

    def test_it_refuses_a_patched_end_before_the_existing_start(self, api):
        start = timezone.now()
        mailing = MailingFactory(start_datetime=start, end_datetime=start + timedelta(days=1))

        response = api.patch(
            f"/mailings/{mailing.pk}/", {"end_datetime": (start - timedelta(hours=1)).isoformat()}, format="json"
        )

        assert response.status_code == 400
        assert "end_datetime" in response.json()
        mailing.refresh_from_db()
        assert mailing.end_datetime == start + timedelta(days=1)

    def test_it_refuses_half_a_window_on_patch(self, api):
        mailing = MailingFactory()

        response = api.patch(f"/mailings/{mailing.pk}/", {"send_window_start": "09:00"}, format="json")

        assert response.status_code == 400
        assert "send_window_end" in response.json()
        mailing.refresh_from_db()
        assert mailing.send_window_start is None


class TestMailingDelete:
    def test_it_deletes_a_mailing_without_messages(self, api):
        mailing = MailingFactory()

        response = api.delete(f"/mailings/{mailing.pk}/")

        assert response.status_code == 204
        assert not Mailing.objects.filter(pk=mailing.pk).exists()

    def test_it_refuses_to_delete_a_mailing_with_messages(self, api):
        mailing = MailingFactory()
        messages = MessageFactory.create_batch(2, mailing=mailing, status=Message.Status.SENT)

        response = api.delete(f"/mailings/{mailing.pk}/")

        assert response.status_code == 409
        detail = response.json()["detail"]
        assert "cannot be deleted" in detail
        assert Mailing.objects.filter(pk=mailing.pk).exists()
        assert set(Message.objects.values_list("pk", flat=True)) == {m.pk for m in messages}

    def test_it_answers_404_for_an_unknown_mailing(self, api):
        response = api.delete("/mailings/999999/")

        assert response.status_code == 404
        assert "detail" in response.json()


class TestSegments:
    @pytest.mark.parametrize(
        ("text", "encoding", "parts"),
        [("Sale: 20% off", "GSM-7", 1), ("x" * 161, "GSM-7", 2), ("Скидка 20%", "UCS-2", 1), ("€" * 81, "GSM-7", 2)],
    )
    def test_a_mailing_says_its_encoding_and_parts(self, api, text, encoding, parts):
        created = api.post("/mailings/", _payload(message_text=text), format="json")

        assert created.status_code == 201, created.json()
        assert (created.json()["encoding"], created.json()["segments"]) == (encoding, parts)
        listed = api.get("/mailings/").json()[0]
        assert (listed["encoding"], listed["segments"]) == (encoding, parts)

    def test_they_are_read_only(self, api):
        response = api.post("/mailings/", _payload(message_text="Hi", encoding="UCS-2", segments=9), format="json")

        assert response.status_code == 201
        assert (response.json()["encoding"], response.json()["segments"]) == ("GSM-7", 1)

    def test_the_limit_on_parts_is_a_setting_refused_with_why_never_cut(self, api, settings):
        settings.MAILING_MAX_PARTS = 2

        refused = api.post("/mailings/", _payload(message_text="ж" * 135), format="json")
        accepted = api.post("/mailings/", _payload(message_text="ж" * 134), format="json")

        assert refused.status_code == 400
        assert refused.json()["message_text"] == [
            "The text is 3 SMS parts of 67 characters in UCS-2 (ж are not in GSM-7); at most 2 are allowed: shorten it."
        ]
        assert accepted.status_code == 201
        assert accepted.json()["message_text"] == "ж" * 134
