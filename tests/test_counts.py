"""The message counts the database triggers keep always equal a count of the messages."""

from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from mailings import selectors, services
from mailings.counts import fold_message_counts
from mailings.models import Message, MessageCount
from mailings.sending.fanout import fan_out
from tests.factories import ClientFactory, MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db
S = Message.Status


def _truth() -> dict[tuple[int, str], int]:
    return dict(Counter(Message.objects.values_list("mailing_id", "status")))


def _kept() -> dict[tuple[int, str], int]:
    rows = MessageCount.objects.values_list("mailing_id", "status").annotate(n=Sum("delta")).order_by()
    return {(mailing_id, status): n for mailing_id, status, n in rows if n}


class TestMessageCounts:
    def test_they_follow_every_kind_of_write(self):
        clients = ClientFactory.create_batch(6)
        first, second = MailingFactory(), MailingFactory()
        fan_out(mailing=first, now=timezone.now())  # INSERT ... SELECT
        Message.objects.bulk_create(  # bulk insert
            Message(mailing=second, client=c, phone_number=c.phone_number) for c in clients[:3]
        )
        assert _kept() == _truth() == {(first.pk, S.PENDING): 6, (second.pk, S.PENDING): 3}
        ids = list(first.messages.values_list("id", flat=True))
        Message.objects.filter(id__in=ids[:4]).update(status=S.SENDING)  # claim
        Message.objects.filter(id__in=ids[:2]).update(status=S.SENT)  # record
        Message.objects.filter(id__in=ids[2:4]).update(status=S.PENDING, token=None)  # reap
        Message.objects.filter(id__in=ids).update(token=42)  # no status change at all
        services.client_delete(client=clients[5])  # cancels its pending messages, unlinks the rest
        services.mailing_cancel(mailing=second)
        Message.objects.filter(pk=ids[0]).delete()
        MessageFactory(mailing=first, status=S.FAILED)
        assert _kept() == _truth()

    def test_folding_keeps_every_sum(self):
        mailing = MailingFactory()
        for _ in range(5):
            MessageFactory(mailing=mailing)
        Message.objects.filter(mailing=mailing).update(status=S.SENT)
        before = _kept()
        rows_before = MessageCount.objects.count()
        assert fold_message_counts() > 0
        assert MessageCount.objects.count() < rows_before
        assert _kept() == before == _truth()
        assert fold_message_counts() == 0  # nothing left to fold

    def test_statistics_read_them(self):
        mailing = MailingFactory(start_datetime=timezone.now() - timedelta(hours=1))
        for status in [S.SENT, S.SENT, S.FAILED]:
            MessageFactory(mailing=mailing, status=status)
        fold_message_counts()
        MessageFactory(mailing=mailing, status=S.EXPIRED)  # unfolded rows count too
        counts = selectors.mailing_message_counts(mailing=mailing)
        assert (counts["sent"], counts["failed"], counts["expired"], counts["pending"]) == (2, 1, 1, 0)
        assert selectors.mailing_statistics_overall()["messages_total"] == 4


class TestDailyCounts:
    def test_a_change_counts_on_the_day_it_happened(self):
        mailing = MailingFactory()
        sent = MessageFactory(mailing=mailing)
        MessageFactory(mailing=mailing, status=S.FAILED)
        Message.objects.filter(pk=sent.pk).update(status=S.SENT)
        today = timezone.now().date()
        assert selectors.message_daily_sent_failed(days=3)[-1] == (today, 1, 1)

    def test_it_gives_every_day_of_the_window_oldest_first_and_only_the_chosen_mailings(self):
        today = timezone.now().date()
        mine, other = MailingFactory(), MailingFactory()
        for mailing, back, status, delta in [
            (mine, 2, S.SENT, 5), (mine, 2, S.FAILED, 1), (mine, 0, S.SENT, 2),
            (mine, 30, S.SENT, 99),  # before the window
            (other, 1, S.SENT, 7),
        ]:  # fmt: skip
            MessageCount.objects.create(mailing_id=mailing.pk, status=status, day=today - timedelta(back), delta=delta)
        series = selectors.message_daily_sent_failed(mailings=[mine.pk], days=30)
        assert len(series) == 30
        assert series[0][0] == today - timedelta(29)
        assert series[-3:] == [(today - timedelta(2), 5, 1), (today - timedelta(1), 0, 0), (today, 2, 0)]
        assert sum(sent for _, sent, _ in selectors.message_daily_sent_failed(days=30)) == 14
