"""The admin's forms on edge cases of phones, time zones, datetimes and windows: a clear error on
the field to fix, and nothing saved."""

import pytest

from mailings.models import Client, Mailing
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
CLIENT_ADD = "/admin/mailings/client/add/"
MAILING_ADD = "/admin/mailings/mailing/add/"


def errors_of(response) -> dict[str, list[str]]:
    assert response.status_code == 200, response.status_code  # the form again, not a redirect
    return {name: list(errors) for name, errors in response.context["adminform"].form.errors.items()}


@pytest.mark.parametrize(
    ("phone", "zone", "stored"),
    [
        ("+7 (913) 123-45-67", "GMT+3", ("79131234567", "Etc/GMT-3")),
        ("7.913.123.45.67", "utc+05:30", ("79131234567", "UTC+05:30")),
        ("79131234567", "europe/moscow", ("79131234567", "Europe/Moscow")),
        ("79131234567", "UTC-12", ("79131234567", "Etc/GMT+12")),
        ("79131234567", "+14:00", ("79131234567", "Etc/GMT-14")),
        ("79131234567", "3", ("79131234567", "Etc/GMT-3")),
        ("79131234567", "0", ("79131234567", "UTC")),
        ("79131234567", "-5", ("79131234567", "Etc/GMT+5")),
    ],
)
def test_a_client_is_saved_normalised(admin_client, phone, zone, stored):
    response = admin_client.post(CLIENT_ADD, {"phone_number": phone, "timezone": zone, "tag": "", "operator_code": ""})
    assert response.status_code == 302
    client = Client.objects.get()
    assert (client.phone_number, client.timezone) == stored
    assert client.operator_code == "913"


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"phone_number": "+89131234567"}, "phone_number", "not a valid phone number"),
        ({"phone_number": "7913123456"}, "phone_number", "not a valid phone number"),
        ({"phone_number": "791312345678"}, "phone_number", "not a valid phone number"),
        ({"timezone": "Mars/Olympus"}, "timezone", "Mars/Olympus"),
        ({"timezone": "UTC+15"}, "timezone", "-12:00 to +14:00"),
        ({"timezone": "UTC+05:20"}, "timezone", "steps of 15 minutes"),
        ({"operator_code": "91"}, "operator_code", "3 digits"),
        ({"phone_number": "79000000001"}, "phone_number", "already exists"),
        ({"tag": "t" * 65}, "tag", "at most 64"),
    ],
)
def test_a_bad_client_is_refused_on_its_field(admin_client, fields, field, words):
    ClientFactory(phone_number="79000000001")
    data = {"phone_number": "79131234567", "timezone": "UTC", "tag": "", "operator_code": "", **fields}
    errors = errors_of(admin_client.post(CLIENT_ADD, data))
    assert words in " ".join(errors[field]), errors
    assert Client.objects.count() == 1


def mailing_form(**fields) -> dict:
    data = {
        "message_text": "Hello",
        "start_datetime_0": "2030-01-01",
        "start_datetime_1": "09:00:00",
        "end_datetime_0": "2030-01-02",
        "end_datetime_1": "09:00:00",
        "send_window_start": "",
        "send_window_end": "",
        "filter_operator_code": "",
        "filter_tag": "",
    }
    return {**data, **fields}


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"end_datetime_0": "2029-12-31"}, "end_datetime", "after"),
        ({"end_datetime_0": "2030-01-01", "end_datetime_1": "09:00:00"}, "end_datetime", "after"),
        ({"start_datetime_0": "2030-02-30"}, "start_datetime", "valid date"),
        ({"start_datetime_1": "25:00"}, "start_datetime", "valid time"),
        ({"message_text": ""}, "message_text", "required"),
        (
            {"message_text": "x" * 1531},
            "message_text",
            "The text is 11 SMS parts of 153 characters in GSM-7; at most 10",
        ),
        ({"message_text": "Привет " * 96}, "message_text", "11 SMS parts of 67 characters in UCS-2 (П, р, и, в, е"),  # noqa: RUF001
        ({"send_window_start": "09:00"}, "send_window_end", ""),
        ({"send_window_start": "24:00", "send_window_end": "10:00"}, "send_window_start", "valid time"),
        ({"filter_operator_code": "9a3"}, "filter_operator_code", "3 digits"),
    ],
)
def test_a_bad_mailing_is_refused_on_the_field_to_fix(admin_client, fields, field, words):
    errors = errors_of(admin_client.post(MAILING_ADD, mailing_form(**fields)))
    assert field in errors, errors
    assert words in " ".join(errors[field]), errors
    assert not Mailing.objects.exists()


def test_a_window_across_midnight_is_a_good_mailing(admin_client):
    ClientFactory()  # an audience: the form asks to confirm a mailing that would reach nobody
    response = admin_client.post(MAILING_ADD, mailing_form(send_window_start="22:00", send_window_end="06:30"))
    assert response.status_code == 302
    mailing = Mailing.objects.get()
    assert (mailing.send_window_start.hour, mailing.send_window_end.minute) == (22, 30)
