"""The do-not-contact list in the engine: fan-out leaves its phones out and counts them, the claim
cancels the waiting messages of phones put on it since ("do not contact"), the counts follow."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mailings import selectors, services
from mailings.models import Client, Mailing, Message, MessageCount, Suppression
from mailings.sending.batch import DO_NOT_CONTACT, claim
from mailings.sending.fanout import fan_out
from tests.factories import ClientFactory, MessageFactory
from tests.sending.support import _running

S = Message.Status


def _suppress(*phones: str) -> None:
    for phone in phones:
        services.suppression_add(phone_number=phone, reason=Suppression.Reason.MANUAL, source="test")


@pytest.mark.django_db
class TestFanOut:
    def test_it_leaves_out_suppressed_phones_and_counts_them(self):
        clients = [ClientFactory() for _ in range(5)]
        _suppress(clients[1].phone_number, clients[3].phone_number, "79999999999")  # the last: no client
        mailing = _running()
        assert fan_out(mailing=mailing, now=timezone.now()) == 3
        phones = set(mailing.messages.values_list("phone_number", flat=True))
        assert phones == {clients[0].phone_number, clients[2].phone_number, clients[4].phone_number}
        mailing.refresh_from_db()
        assert mailing.left_out_do_not_contact == 2

    def test_the_count_stays_honest_when_fan_out_runs_again(self):
        clients = [ClientFactory(tag="a") for _ in range(3)] + [ClientFactory(tag="b") for _ in range(3)]
        _suppress(clients[0].phone_number, clients[4].phone_number)
        mailing = _running(filter_tag="a")
        fan_out(mailing=mailing, now=timezone.now())
        fan_out(mailing=mailing, now=timezone.now())  # overlapping ticks: nothing new, same count
        mailing.refresh_from_db()
        assert (mailing.messages.count(), mailing.left_out_do_not_contact) == (2, 1)
        # The filter widens: the new audience's suppressed phones, each once.
        Mailing.objects.filter(pk=mailing.pk).update(filter_tag="")
        mailing.refresh_from_db()
        assert fan_out(mailing=mailing, now=timezone.now()) == 2
        mailing.refresh_from_db()
        assert (mailing.messages.count(), mailing.left_out_do_not_contact) == (4, 2)

    def test_a_phone_suppressed_after_its_message_was_made_is_not_counted_left_out(self):
        client = ClientFactory()
        mailing = _running()
        fan_out(mailing=mailing, now=timezone.now())
        _suppress(client.phone_number)
        fan_out(mailing=mailing, now=timezone.now())
        mailing.refresh_from_db()
        assert mailing.left_out_do_not_contact == 0  # it has a message: the claim cancels it

    def test_statistics_show_the_left_out_apart_from_the_success_rate(self, api):
        clients = [ClientFactory() for _ in range(3)]
        _suppress(clients[0].phone_number)
        mailing = _running()
        fan_out(mailing=mailing, now=timezone.now())
        one = api.get(f"/mailings/{mailing.pk}/statistics/").json()
        assert (one["left_out_do_not_contact"], one["messages_total"], one["success_rate"]) == (1, 2, None)
        overall = api.get("/mailings/statistics/").json()
        assert overall["left_out_do_not_contact"] == 1
        assert [m["left_out_do_not_contact"] for m in overall["mailings"]] == [1]
        assert selectors.left_out_do_not_contact_total(mailings=Mailing.objects.filter(pk=mailing.pk)) == 1

    def test_the_admin_statistics_show_the_left_out(self, admin_client):
        clients = [ClientFactory() for _ in range(3)]
        _suppress(clients[0].phone_number, clients[1].phone_number)
        mailing = _running()
        fan_out(mailing=mailing, now=timezone.now())
        page = admin_client.get("/admin/mailings/mailingstatistics/")
        assert page.status_code == 200
        assert page.context_data["totals"]["left_out"] == 2
        assert b'<td class="field-left_out">2</td>' in page.content


@pytest.mark.django_db
class TestClaim:
    def test_it_cancels_the_suppressed_rows_and_claims_the_others(self):
        mailing = _running()
        kept, dropped = MessageFactory(mailing=mailing, token=7), MessageFactory(mailing=mailing, token=7)
        _suppress(dropped.phone_number)  # between fan-out and claim
        rows, claim_token = claim(mailing_id=mailing.pk, message_ids=[kept.pk, dropped.pk], token=7, lease=60)
        assert [row.id for row in rows] == [kept.pk]
        dropped.refresh_from_db()
        kept.refresh_from_db()
        assert (dropped.status, dropped.last_error, dropped.attempts, dropped.token) == (
            S.CANCELLED, DO_NOT_CONTACT, 0, None,
        )  # fmt: skip
        assert (kept.status, kept.token) == (S.SENDING, claim_token)

    def test_only_this_batch_and_only_pending_rows_are_dropped(self):
        mailing = _running()
        other_batch = MessageFactory(mailing=mailing, token=8)
        sent = MessageFactory(mailing=mailing, token=7, status=S.SENT)
        mine = MessageFactory(mailing=mailing, token=7)
        _suppress(other_batch.phone_number, sent.phone_number, mine.phone_number)
        assert claim(mailing_id=mailing.pk, message_ids=[mine.pk, sent.pk], token=7, lease=60)[0] == []
        statuses = dict(Message.objects.values_list("id", "status"))
        assert statuses == {other_batch.pk: S.PENDING, sent.pk: S.SENT, mine.pk: S.CANCELLED}

    def test_a_stale_token_drops_nothing(self):
        mailing = _running()
        message = MessageFactory(mailing=mailing, token=9)
        _suppress(message.phone_number)
        assert claim(mailing_id=mailing.pk, message_ids=[message.pk], token=10, lease=60)[0] == []
        message.refresh_from_db()
        assert message.status == S.PENDING

    def test_the_counts_move_from_pending_to_cancelled(self):
        mailing = _running()
        messages = [MessageFactory(mailing=mailing, token=7) for _ in range(3)]
        _suppress(messages[0].phone_number, messages[1].phone_number)
        claim(mailing_id=mailing.pk, message_ids=[m.pk for m in messages], token=7, lease=60)
        counts = selectors.mailing_message_counts(mailing=mailing)
        assert {k: v for k, v in counts.items() if v} == {"cancelled": 2, "sending": 1}
        real = {s: Message.objects.filter(mailing=mailing, status=s).count() for s in S.values}
        assert {k: v for k, v in real.items() if v} == {"cancelled": 2, "sending": 1}
        assert MessageCount.objects.filter(mailing_id=mailing.pk, status="pending").exists()


@pytest.mark.django_db
def test_a_mailing_over_its_end_claims_nothing_and_drops_nothing():
    client = ClientFactory()
    now = timezone.now()
    mailing = _running(start_datetime=now - timedelta(hours=2), end_datetime=now - timedelta(minutes=1))
    message = MessageFactory(mailing=mailing, client=client, token=3)
    _suppress(client.phone_number)
    assert claim(mailing_id=mailing.pk, message_ids=[message.pk], token=3, lease=60)[0] == []
    assert Client.objects.count() == 1
    message.refresh_from_db()
    assert message.status == S.PENDING
