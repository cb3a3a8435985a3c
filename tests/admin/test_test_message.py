"""'Send a test message': the mailing's text to one phone, through a real (sandbox) provider."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.test import Client as DjangoClient

from mailings.models import Mailing, Message
from mailings.sending.trial_send import TEST_MESSAGE_IDS_FROM
from tests.factories import MailingFactory

pytestmark = pytest.mark.django_db
MAILINGS = "/admin/mailings/mailing/"


def url(mailing: Mailing) -> str:
    return f"{MAILINGS}{mailing.pk}/test-message/"


def test_the_text_goes_to_the_phone_and_the_operator_is_told(operator, sandbox_factory):
    sandbox = sandbox_factory()
    mailing = MailingFactory(message_text="Hello from the test")
    page = operator.get(url(mailing)).content.decode()
    assert "Hello from the test" in page
    response = operator.post(url(mailing), {"phone_number": "+7 (900) 123-45-67"}, follow=True)
    assert response.redirect_chain[-1][0] == f"{MAILINGS}{mailing.pk}/change/"
    assert "Test message sent to 79001234567: the provider accepted it" in response.content.decode()
    accepted = list(sandbox.sandbox.state.accepted)
    assert len(accepted) == 1
    assert accepted[0] >= TEST_MESSAGE_IDS_FROM
    assert not Message.objects.exists()
    assert LogEntry.objects.get(object_id=str(mailing.pk)).get_change_message().startswith("Test message sent to")


def test_a_provider_that_refuses_is_reported(operator, sandbox_factory):
    sandbox_factory(error_rate=1.0)
    mailing = MailingFactory()
    response = operator.post(url(mailing), {"phone_number": "79001234567"}, follow=True)
    assert "Test message to 79001234567 not sent: HTTP " in response.content.decode()
    assert "accepted" not in response.content.decode()


def test_a_bad_phone_is_refused_before_anything_is_sent(operator, sandbox_factory):
    sandbox = sandbox_factory()
    response = operator.post(url(MailingFactory()), {"phone_number": "12345"})
    assert response.status_code == 200
    assert "not a valid phone number" in response.content.decode()
    assert sandbox.stats["accepted"] == 0


def test_a_viewer_cannot_send(viewer, sandbox_factory):
    sandbox = sandbox_factory()
    mailing = MailingFactory()
    assert viewer.get(url(mailing)).status_code == 403
    assert viewer.post(url(mailing), {"phone_number": "79001234567"}).status_code == 403
    assert "test-message" not in viewer.get(f"{MAILINGS}{mailing.pk}/change/").content.decode()
    assert sandbox.stats["accepted"] == 0


def test_the_action_takes_one_mailing_to_the_form(operator):
    first, second = MailingFactory(), MailingFactory()
    response = operator.post(MAILINGS, {"action": "test_message", "_selected_action": [first.pk]})
    assert response.status_code == 302
    assert response["Location"] == url(first)
    response = operator.post(
        MAILINGS, {"action": "test_message", "_selected_action": [first.pk, second.pk]}, follow=True
    )
    assert "Choose one mailing" in response.content.decode()
    assert "Send a test message" in operator.get(f"{MAILINGS}{first.pk}/change/").content.decode()


@pytest.mark.parametrize("object_id", ["999999999", "abc", "1" * 40])
def test_a_missing_or_malformed_mailing_is_not_found(operator, object_id):
    assert operator.get(f"{MAILINGS}{object_id}/test-message/").status_code == 404


def test_a_viewer_is_refused_before_being_told_whether_a_mailing_exists(viewer):
    assert viewer.get(f"{MAILINGS}999999999/test-message/").status_code == 403


def test_a_finished_mailing_can_still_be_tried_on_a_phone(operator):
    mailing = MailingFactory(status=Mailing.Status.FINISHED)
    assert operator.get(url(mailing)).status_code == 200
    assert "test-message" in operator.get(f"{MAILINGS}{mailing.pk}/change/").content.decode()  # the button too


class TestTheHourlyLimit:
    """Each user may send TEST_MESSAGES_PER_HOUR test messages in each clock hour, superusers too;
    counted in the real Redis before the request to the (real, sandbox) provider."""

    @pytest.fixture(autouse=True)
    def two_an_hour(self, settings, frozen_clock):
        settings.TEST_MESSAGES_PER_HOUR = 2
        settings.TIME_ZONE = "Europe/Moscow"  # UTC+3 all year: the hour shown is the operators'

    @staticmethod
    def logged_in(django_user_model, username: str, **flags) -> DjangoClient:
        user = django_user_model.objects.create_user(username=username, password="pw-123456", is_staff=True, **flags)
        user.groups.add(Group.objects.get(name="Operators"))
        browser = DjangoClient()
        browser.force_login(user)
        return browser

    def test_the_one_past_the_limit_is_refused_on_the_page_and_not_sent(self, operator, sandbox_factory, frozen_clock):
        sandbox = sandbox_factory()
        mailing = MailingFactory()
        for _ in range(2):
            assert operator.post(url(mailing), {"phone_number": "79001234567"}).status_code == 302
        frozen_clock.advance(11 * 60)  # 00:11 UTC: 03:11 in Moscow
        response = operator.post(url(mailing), {"phone_number": "79001234568"})
        assert response.status_code == 429
        assert response["Retry-After"] == str(49 * 60)
        page = response.content.decode()
        assert (
            "Not sent: you have sent the 2 test messages a user may send each hour (TEST_MESSAGES_PER_HOUR). "
            "You can send more from 04:00 MSK (in 49 min)."
        ) in page
        assert 'value="79001234568"' in page  # the form again, as typed
        assert sandbox.stats["requests"] == 2
        assert LogEntry.objects.count() == 2

    def test_another_user_can_still_send(self, operator, django_user_model, sandbox_factory):
        sandbox = sandbox_factory()
        mailing = MailingFactory()
        for _ in range(3):
            operator.post(url(mailing), {"phone_number": "79001234567"})
        other = self.logged_in(django_user_model, "other-operator")
        assert other.post(url(mailing), {"phone_number": "79001234567"}).status_code == 302
        assert sandbox.stats["requests"] == 3

    def test_a_superuser_is_limited_too(self, django_user_model, sandbox_factory):
        sandbox = sandbox_factory()
        root = self.logged_in(django_user_model, "root", is_superuser=True)
        mailing = MailingFactory()
        answers = [root.post(url(mailing), {"phone_number": "79001234567"}).status_code for _ in range(3)]
        assert answers == [302, 302, 429]
        assert sandbox.stats["requests"] == 2

    def test_a_send_the_provider_refused_counts_too(self, operator, sandbox_factory):
        sandbox = sandbox_factory(error_rate=1.0)
        mailing = MailingFactory()
        answers = [operator.post(url(mailing), {"phone_number": "79001234567"}).status_code for _ in range(3)]
        assert answers == [302, 302, 429]
        assert sandbox.stats["requests"] == 2

    def test_a_bad_phone_does_not_count(self, operator, sandbox_factory):
        sandbox_factory()
        mailing = MailingFactory()
        operator.post(url(mailing), {"phone_number": "12345"})
        answers = [operator.post(url(mailing), {"phone_number": "79001234567"}).status_code for _ in range(2)]
        assert answers == [302, 302]

    def test_the_next_hour_sends_again(self, operator, sandbox_factory, frozen_clock):
        sandbox = sandbox_factory()
        mailing = MailingFactory()
        answers = [operator.post(url(mailing), {"phone_number": "79001234567"}).status_code for _ in range(3)]
        frozen_clock.advance(3600)
        answers.append(operator.post(url(mailing), {"phone_number": "79001234567"}).status_code)
        assert answers == [302, 302, 429, 302]
        assert sandbox.stats["requests"] == 3

    def test_the_page_says_the_limit(self, operator):
        assert "Each user may send 2 test messages an hour." in operator.get(url(MailingFactory())).content.decode()

    def test_without_the_cache_nothing_is_sent(self, operator, sandbox_factory, settings):
        sandbox = sandbox_factory()
        mailing = MailingFactory()
        settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}
        response = operator.post(url(mailing), {"phone_number": "79001234567"})
        assert response.status_code == 429
        assert "Not sent: test messages are counted in the cache (Redis), which does not answer" in (
            response.content.decode()
        )
        assert sandbox.stats["requests"] == 0
