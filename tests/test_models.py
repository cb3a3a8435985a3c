from datetime import time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from mailings import services
from mailings.errors import ConflictError
from mailings.models import Client, Mailing, Message
from tests.factories import ClientFactory, MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db


def _errors(info) -> dict:
    return info.value.message_dict


class TestClientValidation:
    def test_it_derives_the_operator_code_from_the_phone(self):
        client = services.client_create(phone_number="79131234567", timezone="Europe/Moscow")
        assert client.operator_code == "913"

    def test_it_keeps_a_given_operator_code(self):
        client = services.client_create(phone_number="70000000000", operator_code="913", timezone="GMT+3")
        client.refresh_from_db()
        assert (client.operator_code, client.timezone) == ("913", "Etc/GMT-3")

    def test_it_normalises_the_phone_and_the_time_zone_on_save(self):
        client = services.client_create(phone_number="+7 (913) 111-22-33", timezone="utc+5:30")
        client.refresh_from_db()
        assert (client.phone_number, client.timezone) == ("79131112233", "UTC+05:30")

    @pytest.mark.parametrize(
        ("fields", "bad_field"),
        [
            ({"phone_number": "90000000000"}, "phone_number"),
            ({"phone_number": "7913"}, "phone_number"),
            ({"phone_number": ""}, "phone_number"),
            ({"operator_code": "91"}, "operator_code"),
            ({"operator_code": "abc"}, "operator_code"),
            ({"timezone": "Mars/Olympus"}, "timezone"),
            ({"timezone": ""}, "timezone"),
            ({"tag": "x" * 65}, "tag"),
        ],
    )
    def test_it_refuses_bad_values_naming_the_field(self, fields, bad_field):
        data = {"phone_number": "79001234567", "timezone": "UTC", **fields}
        with pytest.raises(ValidationError) as info:
            services.client_create(**data)
        assert bad_field in _errors(info)
        assert not Client.objects.exists()

    def test_it_accepts_an_empty_tag_and_a_long_one_up_to_the_bound(self):
        services.client_create(phone_number="79001234567", timezone="UTC", tag="")
        services.client_create(phone_number="79001234568", timezone="UTC", tag="x" * 64)
        assert Client.objects.count() == 2

    def test_it_refuses_a_duplicate_phone(self):
        services.client_create(phone_number="79001234567", timezone="UTC")
        with pytest.raises(ValidationError) as info:
            services.client_create(phone_number="+7 900 123 45 67", timezone="UTC")
        assert "phone_number" in _errors(info)

    def test_the_database_refuses_a_malformed_phone_even_without_validation(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            Client.objects.create(phone_number="90000000000", operator_code="900", timezone="UTC")

    def test_the_database_refuses_a_missing_operator_code(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            Client.objects.create(phone_number="79000000000", operator_code="", timezone="UTC")

    def test_a_new_phone_without_a_code_gets_its_own_code(self):
        client = services.client_create(phone_number="79131234567", timezone="UTC")
        services.client_update(client=client, phone_number="79261234567")
        client.refresh_from_db()
        assert client.operator_code == "926"

    def test_it_records_created_and_updated_times(self):
        client = services.client_create(phone_number="79131234567", timezone="UTC")
        assert client.created_at is not None
        assert client.updated_at >= client.created_at


class TestMailingValidation:
    def _data(self, **overrides):
        start = timezone.now()
        return {"start_datetime": start, "end_datetime": start + timedelta(hours=1), "message_text": "Hi", **overrides}

    def test_it_creates_a_scheduled_mailing(self):
        mailing = services.mailing_create(**self._data(filter_operator_code="913", filter_tag="vip"))
        assert mailing.status == Mailing.Status.SCHEDULED

    @pytest.mark.parametrize("delta", [timedelta(0), timedelta(seconds=-1), timedelta(days=-3)])
    def test_it_refuses_an_end_not_after_the_start_on_the_end_field(self, delta):
        start = timezone.now()
        with pytest.raises(ValidationError) as info:
            services.mailing_create(start_datetime=start, end_datetime=start + delta, message_text="Hi")
        assert _errors(info) == {"end_datetime": ["The end must be after the start."]}

    @pytest.mark.parametrize(
        ("overrides", "bad_field"),
        [
            ({"message_text": ""}, "message_text"),
            ({"message_text": "x" * 1531}, "message_text"),  # 11 parts of GSM-7
            ({"message_text": "ж" * 671}, "message_text"),  # 11 parts of UCS-2
            ({"filter_operator_code": "91"}, "filter_operator_code"),
            ({"filter_operator_code": "9a1"}, "filter_operator_code"),
            ({"filter_tag": "t" * 65}, "filter_tag"),
            ({"send_window_start": time(9)}, "send_window_end"),
            ({"send_window_end": time(9)}, "send_window_end"),
            ({"send_window_start": time(9), "send_window_end": time(9)}, "send_window_end"),
        ],
    )
    def test_it_refuses_bad_values_naming_the_field(self, overrides, bad_field):
        with pytest.raises(ValidationError) as info:
            services.mailing_create(**self._data(**overrides))
        assert bad_field in _errors(info)
        assert not Mailing.objects.exists()

    def test_it_accepts_a_window_across_midnight(self):
        mailing = services.mailing_create(**self._data(send_window_start=time(21), send_window_end=time(9)))
        mailing.refresh_from_db()
        assert (mailing.send_window_start, mailing.send_window_end) == (time(21), time(9))

    def test_it_accepts_text_up_to_the_bound(self):
        assert services.mailing_create(**self._data(message_text="x" * 1000)).pk

    def test_the_database_refuses_an_end_before_the_start(self):
        start = timezone.now()
        with pytest.raises(IntegrityError), transaction.atomic():
            Mailing.objects.create(start_datetime=start, end_datetime=start, message_text="Hi")

    def test_the_database_refuses_an_empty_text(self):
        start = timezone.now()
        with pytest.raises(IntegrityError), transaction.atomic():
            Mailing.objects.create(start_datetime=start, end_datetime=start + timedelta(hours=1), message_text="")

    def test_the_database_refuses_half_a_window(self):
        start = timezone.now()
        with pytest.raises(IntegrityError), transaction.atomic():
            Mailing.objects.create(
                start_datetime=start,
                end_datetime=start + timedelta(hours=1),
                message_text="Hi",
                send_window_start=time(9),
            )


class TestMessageModel:
    def test_it_snapshots_the_phone(self):
        client = ClientFactory(phone_number="79005554433")
        message = services.message_create(mailing=MailingFactory(), client=client)
        assert message.phone_number == "79005554433"
        assert message.status == Message.Status.PENDING
        assert message.attempts == 0

    def test_it_sets_sent_at_for_a_message_recorded_as_sent(self):
        message = services.message_create(mailing=MailingFactory(), client=ClientFactory(), status="sent")
        assert message.sent_at is not None

    def test_it_allows_one_message_per_client_and_mailing(self):
        existing = MessageFactory()
        with pytest.raises(ValidationError):
            services.message_create(mailing=existing.mailing, client=existing.client)
        with pytest.raises(IntegrityError), transaction.atomic():
            Message.objects.create(mailing=existing.mailing, client=existing.client, phone_number="79000000000")

    def test_it_refuses_an_unknown_status(self):
        with pytest.raises(ValidationError) as info:
            services.message_create(mailing=MailingFactory(), client=ClientFactory(), status="lost")
        assert "status" in _errors(info)


class TestHistoryIsKept:
    def test_deleting_a_client_keeps_its_messages_and_the_statistics(self):
        client = ClientFactory(phone_number="79001112233")
        sent = MessageFactory(client=client, status=Message.Status.SENT)
        waiting = MessageFactory(client=client, status=Message.Status.PENDING)
        services.client_delete(client=client)
        sent.refresh_from_db()
        waiting.refresh_from_db()
        assert not Client.objects.filter(pk=client.pk).exists()
        assert (sent.client, sent.phone_number, sent.status) == (None, "79001112233", Message.Status.SENT)
        assert (waiting.client, waiting.status) == (None, Message.Status.CANCELLED)
        assert waiting.last_error == "client deleted"

    def test_deleting_a_mailing_with_messages_is_refused(self):
        message = MessageFactory(status=Message.Status.SENT)
        with pytest.raises(ConflictError, match="cannot be deleted"):
            services.mailing_delete(mailing=message.mailing)
        assert Message.objects.filter(pk=message.pk).exists()

    def test_the_database_protects_a_mailing_with_messages(self):
        from django.db.models import ProtectedError

        message = MessageFactory()
        with pytest.raises(ProtectedError):
            message.mailing.delete()

    def test_a_mailing_without_messages_can_be_deleted(self):
        mailing = MailingFactory()
        services.mailing_delete(mailing=mailing)
        assert not Mailing.objects.exists()
