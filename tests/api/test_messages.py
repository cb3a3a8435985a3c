"""/messages/: the delivery record; written by admins, read by integrations."""

from datetime import datetime

import pytest
from django.utils import timezone

from mailings.models import Message
from tests.factories import ClientFactory, MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db

MESSAGE_KEYS = {"id", "created_at", "status", "mailing", "client"}


class TestMessageCreate:
    def test_it_creates_the_original_api_example_with_the_russian_status(self, admin_api):
        mailing = MailingFactory()
        client = ClientFactory(phone_number="79131234567")

        response = admin_api.post(
            "/messages/",
            {
                "created_at": "2023-05-18T09:00:00",
                "status": "Отправлено",
                "mailing": str(mailing.pk),
                "client": str(client.pk),
            },
            format="json",
        )

        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) >= MESSAGE_KEYS
        message = Message.objects.get()
        assert (body["id"], body["status"], body["mailing"], body["client"]) == (
            message.pk,
            "sent",
            mailing.pk,
            client.pk,
        )
        assert body["phone_number"] == "79131234567"
        assert (message.status, message.mailing_id, message.client_id, message.phone_number) == (
            "sent",
            mailing.pk,
            client.pk,
            "79131234567",
        )
        assert message.created_at == timezone.make_aware(datetime(2023, 5, 18, 9, 0))
        assert message.sent_at is not None

    def test_it_defaults_to_pending_and_now(self, admin_api):
        mailing, client = MailingFactory(), ClientFactory()
        before = timezone.now()

        response = admin_api.post("/messages/", {"mailing": mailing.pk, "client": client.pk}, format="json")

        assert response.status_code == 201, response.content
        assert response.json()["status"] == "pending"
        message = Message.objects.get()
        assert message.status == "pending"
        assert message.created_at >= before
        assert message.sent_at is None

    @pytest.mark.parametrize(
        ("given", "stored"), [("failed", "failed"), ("Expired", "expired"), ("отменено", "cancelled")]
    )
    def test_it_accepts_codes_labels_and_russian_words_for_the_status(self, admin_api, given, stored):
        response = admin_api.post(
            "/messages/",
            {"mailing": MailingFactory().pk, "client": ClientFactory().pk, "status": given},
            format="json",
        )

        assert response.status_code == 201, response.content
        assert response.json()["status"] == stored
        assert Message.objects.get().status == stored

    def test_it_refuses_a_second_message_for_the_same_mailing_and_client(self, admin_api):
        existing = MessageFactory()

        response = admin_api.post(
            "/messages/", {"mailing": existing.mailing_id, "client": existing.client_id}, format="json"
        )

        assert response.status_code == 400
        assert "must make a unique set" in response.json()["non_field_errors"][0]
        assert Message.objects.count() == 1

    @pytest.mark.parametrize(
        ("field", "value"),
        [("mailing", 999999), ("client", 999999), ("mailing", "abc"), ("mailing", None), ("client", None)],
    )
    def test_it_refuses_an_unknown_reference_naming_the_field(self, admin_api, field, value):
        payload = {"mailing": MailingFactory().pk, "client": ClientFactory().pk, field: value}

        response = admin_api.post("/messages/", payload, format="json")

        assert response.status_code == 400
        assert field in response.json()
        assert not Message.objects.exists()

    def test_it_refuses_an_unknown_status_naming_the_field(self, admin_api):
        response = admin_api.post(
            "/messages/",
            {"mailing": MailingFactory().pk, "client": ClientFactory().pk, "status": "bogus"},
            format="json",
        )

        assert response.status_code == 400
        assert "status" in response.json()
        assert not Message.objects.exists()

    def test_it_refuses_a_bad_created_at_naming_the_field(self, admin_api):
        response = admin_api.post(
            "/messages/",
            {"mailing": MailingFactory().pk, "client": ClientFactory().pk, "created_at": "yesterday"},
            format="json",
        )

        assert response.status_code == 400
        assert "created_at" in response.json()
        assert not Message.objects.exists()

    def test_it_ignores_read_only_fields(self, admin_api):
        client = ClientFactory(phone_number="79131234567")

        response = admin_api.post(
            "/messages/",
            {
                "mailing": MailingFactory().pk,
                "client": client.pk,
                "phone_number": "79990000000",
                "attempts": 5,
                "last_error": "boom",
            },
            format="json",
        )

        assert response.status_code == 201, response.content
        message = Message.objects.get()
        assert (message.phone_number, message.attempts, message.last_error) == ("79131234567", 0, "")


class TestMessageRead:
    def test_it_lists_messages_for_the_integration_token(self, api):
        first, second = MessageFactory(), MessageFactory(status=Message.Status.SENT)

        response = api.get("/messages/")

        assert response.status_code == 200
        body = response.json()
        assert isinstance(body, list)
        assert [item["id"] for item in body] == [first.pk, second.pk]
        assert all(set(item) >= MESSAGE_KEYS for item in body)
        assert body[1]["status"] == "sent"
        assert (body[0]["mailing"], body[0]["client"]) == (first.mailing_id, first.client_id)

    def test_it_retrieves_one_message(self, api):
        message = MessageFactory(status=Message.Status.FAILED)

        response = api.get(f"/messages/{message.pk}/")

        assert response.status_code == 200
        body = response.json()
        assert (body["id"], body["status"], body["mailing"], body["client"], body["phone_number"]) == (
            message.pk,
            "failed",
            message.mailing_id,
            message.client_id,
            message.phone_number,
        )
        assert body["created_at"]

    def test_it_answers_404_for_an_unknown_message(self, api):
        response = api.get("/messages/999999/")

        assert response.status_code == 404
        assert "detail" in response.json()


class TestMessageWritePermissions:
    def test_the_integration_token_may_not_create_messages(self, api):
        response = api.post("/messages/", {"mailing": MailingFactory().pk, "client": ClientFactory().pk}, format="json")

        assert response.status_code == 403
        assert "detail" in response.json()
        assert not Message.objects.exists()

    def test_the_integration_token_may_not_put_a_message(self, api):
        message = MessageFactory(status=Message.Status.PENDING)

        response = api.put(
            f"/messages/{message.pk}/",
            {"mailing": message.mailing_id, "client": message.client_id, "status": "sent"},
            format="json",
        )

        assert response.status_code == 403
        message.refresh_from_db()
        assert message.status == "pending"

    def test_the_integration_token_may_not_patch_a_message(self, api):
        message = MessageFactory(status=Message.Status.PENDING)

        response = api.patch(f"/messages/{message.pk}/", {"status": "sent"}, format="json")

        assert response.status_code == 403
        message.refresh_from_db()
        assert message.status == "pending"

    def test_the_integration_token_may_not_delete_a_message(self, api):
        message = MessageFactory()

        response = api.delete(f"/messages/{message.pk}/")

        assert response.status_code == 403
        assert Message.objects.filter(pk=message.pk).exists()


class TestMessageUpdate:
    def test_it_patches_the_status_and_records_the_sending_time(self, admin_api):
        message = MessageFactory(status=Message.Status.PENDING)

        response = admin_api.patch(f"/messages/{message.pk}/", {"status": "sent"}, format="json")

        assert response.status_code == 200, response.content
        assert response.json()["status"] == "sent"
        assert response.json()["sent_at"] is not None
        message.refresh_from_db()
        assert message.status == "sent"
        assert message.sent_at is not None

    def test_it_puts_a_new_client_and_snapshots_its_phone(self, admin_api):
        message = MessageFactory(client=ClientFactory(phone_number="79001111111"))
        other = ClientFactory(phone_number="79132222222")

        response = admin_api.put(
            f"/messages/{message.pk}/",
            {"mailing": message.mailing_id, "client": other.pk, "status": "failed"},
            format="json",
        )

        assert response.status_code == 200, response.content
        assert (response.json()["client"], response.json()["phone_number"]) == (other.pk, "79132222222")
        message.refresh_from_db()
        assert (message.client_id, message.phone_number, message.status) == (other.pk, "79132222222", "failed")

    def test_it_refuses_a_patch_that_duplicates_another_message(self, admin_api):
        first = MessageFactory()
        second = MessageFactory(mailing=first.mailing)

        response = admin_api.patch(f"/messages/{second.pk}/", {"client": first.client_id}, format="json")

        assert response.status_code == 400
        second.refresh_from_db()
        assert second.client_id != first.client_id

    def test_it_refuses_an_unknown_status_on_patch(self, admin_api):
        message = MessageFactory(status=Message.Status.PENDING)

        response = admin_api.patch(f"/messages/{message.pk}/", {"status": "bogus"}, format="json")

        assert response.status_code == 400
        assert "status" in response.json()
        message.refresh_from_db()
        assert message.status == "pending"


class TestMessageDelete:
    def test_an_admin_deletes_a_message(self, admin_api):
        message, kept = MessageFactory(), MessageFactory()

        response = admin_api.delete(f"/messages/{message.pk}/")

        assert response.status_code == 204
        assert list(Message.objects.values_list("pk", flat=True)) == [kept.pk]


class TestMessageFilters:
    def test_it_filters_by_mailing(self, api):
        mailing = MailingFactory()
        wanted = MessageFactory.create_batch(2, mailing=mailing)
        MessageFactory()

        response = api.get("/messages/", {"mailing": mailing.pk})

        assert response.status_code == 200
        assert [item["id"] for item in response.json()] == [m.pk for m in wanted]
        assert response["X-Total-Count"] == "2"

    def test_it_filters_by_client(self, api):
        client = ClientFactory()
        wanted = MessageFactory(client=client)
        MessageFactory()

        response = api.get("/messages/", {"client": client.pk})

        assert response.status_code == 200
        assert [item["id"] for item in response.json()] == [wanted.pk]

    def test_it_filters_by_status(self, api):
        MessageFactory(status=Message.Status.PENDING)
        sent = MessageFactory(status=Message.Status.SENT)
        MessageFactory(status=Message.Status.FAILED)

        response = api.get("/messages/", {"status": "sent"})

        assert response.status_code == 200
        assert [item["id"] for item in response.json()] == [sent.pk]

    def test_it_combines_filters(self, api):
        mailing = MailingFactory()
        wanted = MessageFactory(mailing=mailing, status=Message.Status.SENT)
        MessageFactory(mailing=mailing, status=Message.Status.FAILED)
        MessageFactory(status=Message.Status.SENT)

        response = api.get("/messages/", {"mailing": mailing.pk, "status": "sent"})

        assert response.status_code == 200
        assert [item["id"] for item in response.json()] == [wanted.pk]

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"mailing": 999999}, "mailing"),
            ({"mailing": "abc"}, "mailing"),
            ({"client": 999999}, "client"),
            ({"status": "bogus"}, "status"),
        ],
    )
    def test_it_refuses_an_unknown_filter_value_naming_it(self, api, params, field):
        MessageFactory()

        response = api.get("/messages/", params)

        assert response.status_code == 400
        assert field in response.json()
