"""The composer's preview of a personalised text for real clients, and a test send rendered for one."""

import pytest

from mailings.models import Mailing
from tests.factories import ClientFactory, MailingFactory

pytestmark = pytest.mark.django_db
PARTS = "/admin/mailings/mailing/text-parts/"


def preview(client, text, **filters) -> dict:
    response = client.post(PARTS, {"text": text, **filters})
    assert response.status_code == 200
    return response.json()["preview"]


class TestComposerPreview:
    def test_it_renders_for_three_clients_of_the_audience_with_encoding_and_parts(self, admin_client):
        ClientFactory(phone_number="79000000001", attributes={"first_name": "Anna"})
        ClientFactory(phone_number="79000000002", attributes={"first_name": "Жанна"})
        ClientFactory(phone_number="79000000003")
        ClientFactory(phone_number="79000000004")
        ClientFactory(phone_number="79000000005", tag="other", attributes={"first_name": "Zed"})
        found = preview(admin_client, "Hi {first_name|customer}", filter_tag="regular")
        assert found["samples"] == [
            {"phone": "79000000001", "text": "Hi Anna", "encoding": "GSM-7", "parts": 1, "error": ""},
            {"phone": "79000000002", "text": "Hi Жанна", "encoding": "UCS-2", "parts": 1, "error": ""},
            {"phone": "79000000003", "text": "Hi customer", "encoding": "GSM-7", "parts": 1, "error": ""},
        ]
        assert found["defaults"] == [{"name": "first_name", "clients": 2}]

    def test_a_client_lacking_a_required_attribute_is_shown_so(self, admin_client):
        ClientFactory(phone_number="79000000001")
        [sample] = preview(admin_client, "Code {contract}")["samples"]
        assert sample["error"] == "no contract and no default"

    def test_a_malformed_text_says_why_and_a_plain_one_has_no_preview(self, admin_client):
        assert preview(admin_client, "Hi {a.b}")["problems"] == [
            "{a.b} is not a placeholder: a name is lowercase letters, digits and _ (at most 40, not starting "
            "with a digit or __), optionally followed by |default text"
        ]
        assert preview(admin_client, "Plain") == {"personalised": False, "problems": [], "samples": [], "defaults": []}


def url(mailing: Mailing) -> str:
    return f"/admin/mailings/mailing/{mailing.pk}/test-message/"


class TestTestSend:
    def test_it_renders_for_the_client_with_that_phone(self, operator, sandbox_factory):
        sandbox = sandbox_factory()
        ClientFactory(phone_number="79001234567", attributes={"first_name": "Anna"})
        mailing = MailingFactory(message_text="Hi {first_name|customer}, {phone_number} {{x}}")
        response = operator.post(url(mailing), {"phone_number": "+7 900 123-45-67"}, follow=True)
        assert "Test message sent to 79001234567" in response.content.decode()
        assert set(sandbox.sandbox.state.received) == {"Hi Anna, 79001234567 {x}"}

    def test_a_phone_no_client_has_is_refused_and_nothing_goes(self, operator, sandbox_factory):
        sandbox = sandbox_factory()
        mailing = MailingFactory(message_text="Hi {first_name|customer}")
        response = operator.post(url(mailing), {"phone_number": "79001234567"}, follow=True)
        assert "no client has this phone to fill them in" in response.content.decode()
        assert sandbox.stats["accepted"] == 0

    def test_a_client_lacking_a_required_attribute_is_refused(self, operator, sandbox_factory):
        sandbox = sandbox_factory()
        ClientFactory(phone_number="79001234567")
        mailing = MailingFactory(message_text="Code {contract}")
        response = operator.post(url(mailing), {"phone_number": "79001234567"}, follow=True)
        assert "the client has no attribute contract and {contract} has no default" in response.content.decode()
        assert sandbox.stats["accepted"] == 0
