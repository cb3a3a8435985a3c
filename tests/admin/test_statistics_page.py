"""The statistics page's rows: links to the mailing and to its messages by outcome, and the success rate."""

import pytest

from mailings.models import Mailing, Message
from tests.factories import ClientFactory, MailingFactory, MessageFactory

pytestmark = pytest.mark.django_db

URL = "/admin/mailings/mailingstatistics/"
LOG = "/admin/mailings/message/"
S = Message.Status


def _mailing_with(statuses, **kwargs) -> Mailing:
    mailing = MailingFactory(status=Mailing.Status.RUNNING, **kwargs)
    for status in statuses:
        MessageFactory(mailing=mailing, status=status)
    return mailing


def _row(content: str, mailing: Mailing) -> str:
    start = content.index(f'href="/admin/mailings/mailing/{mailing.pk}/change/"')
    return content[start : content.index("</tr>", start)]


class TestStatisticsRows:
    def test_it_links_the_mailing_and_its_messages_by_outcome(self, admin_client):
        mailing = _mailing_with([S.SENT, S.FAILED, S.PENDING, S.SENDING, S.EXPIRED, S.CANCELLED])
        row = _row(admin_client.get(URL).content.decode(), mailing)
        for outcome, query in [
            ("sent", "status__exact=sent"),
            ("failed", "status__exact=failed"),
            ("waiting", "status__exact=pending&amp;status__exact=sending"),
            ("expired", "status__exact=expired"),
            ("cancelled", "status__exact=cancelled"),
        ]:
            assert f'class="outcome-{outcome}" href="{LOG}?mailing__id__exact={mailing.pk}&amp;{query}"' in row

    def test_a_waiting_link_lists_the_pending_and_sending_messages_and_counts_them(self, admin_client):
        mailing = _mailing_with([S.SENT, S.PENDING, S.SENDING, S.PENDING])
        _mailing_with([S.PENDING])  # another mailing's
        page = admin_client.get(f"{LOG}?mailing__id__exact={mailing.pk}&status__exact=pending&status__exact=sending")
        assert page.context["cl"].result_count == 3
        assert sorted(m.status for m in page.context["cl"].result_list) == ["pending", "pending", "sending"]
        outcome = next(f for f in page.context["cl"].filter_specs if f.title == "outcome")
        chosen = [c["display"] for c in outcome.choices(page.context["cl"]) if c["selected"]]
        assert chosen == ["waiting"]

    def test_the_outcome_filter_offers_waiting_as_one_choice_within_a_mailing_only(self, admin_client):
        mailing = _mailing_with([S.PENDING])

        def offered(query):
            cl = admin_client.get(LOG, query).context["cl"]
            outcome = next(f for f in cl.filter_specs if f.title == "outcome")
            return [c["display"] for c in outcome.choices(cl)]

        words = ["sent", "failed", "waiting: to send", "waiting: sending now", "expired", "cancelled"]
        assert offered({"mailing__id__exact": mailing.pk}) == ["All", *words[:2], "waiting", *words[2:]]
        # Over the whole log the two statuses together would walk every message: each on its own.
        assert offered({}) == ["All", *words]

    @pytest.mark.parametrize(
        ("statuses", "rate"),
        [
            ([S.SENT, S.SENT, S.PENDING, S.SENDING], "100.0%"),  # nothing failed yet: waiting is no failure
            ([S.PENDING, S.CANCELLED], "—"),  # nothing has ended
            ([S.SENT, S.FAILED, S.EXPIRED, S.CANCELLED, S.PENDING], "33.3%"),  # 1 of sent, failed, expired
            ([S.SENT] * 1999 + [S.FAILED], "99.9%"),  # rounded down: 100% only when nothing was lost
        ],
    )
    def test_the_success_rate_is_sent_over_the_ended_messages(self, admin_client, statuses, rate):
        mailing = _mailing_with(statuses)
        row = _row(admin_client.get(URL).content.decode(), mailing)
        assert f'<td class="field-success_rate">{rate}</td>' in row

    def test_the_rows_cost_the_same_queries_whatever_their_number(self, admin_client, django_assert_num_queries):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        _mailing_with([S.SENT, S.FAILED])
        with CaptureQueriesContext(connection) as one:
            admin_client.get(URL)
        for _ in range(5):
            _mailing_with([S.SENT, S.FAILED, S.PENDING])
        with django_assert_num_queries(len(one)):  # the counts are subqueries of the page's one query
            admin_client.get(URL)


class TestMessagePage:
    def test_it_shows_the_text_the_answer_and_the_times_not_the_engine(self, admin_client):
        client = ClientFactory(phone_number="79001112233")
        mailing = MailingFactory(status=Mailing.Status.RUNNING, message_text="Sale: 20% off")
        message = MessageFactory(
            mailing=mailing, client=client, status=S.FAILED, attempts=3, last_error="HTTP 400: unknown number",
            token=987654321,
        )  # fmt: skip
        content = admin_client.get(f"{LOG}{message.pk}/change/").content.decode()
        assert '<div class="message-text">Sale: 20% off</div>' in content
        assert "HTTP 400: unknown number" in content
        assert f'href="/admin/mailings/mailing/{mailing.pk}/change/"' in content
        assert f'href="/admin/mailings/client/{client.pk}/change/"' in content
        for shown in ["field-attempts", "field-created_at", "field-sent_at"]:
            assert shown in content
        for internal in ["987654321", "field-token", "field-lease_expires_at", "field-next_attempt_at"]:
            assert internal not in content

    def test_a_pending_message_says_its_next_attempt_and_a_sent_one_its_acceptance(self, admin_client):
        pending = MessageFactory(status=S.PENDING, last_error="HTTP 503: busy")
        content = admin_client.get(f"{LOG}{pending.pk}/change/").content.decode()
        assert "field-next_attempt_at" in content
        assert "Last attempt: HTTP 503: busy" in content
        assert "waiting (pending)" in content
        sent = MessageFactory(status=S.SENT, sent_at=pending.created_at)
        content = admin_client.get(f"{LOG}{sent.pk}/change/").content.decode()
        assert "Accepted: HTTP 200 with code 0" in content
        assert "field-next_attempt_at" not in content

    def test_it_says_when_the_mailing_changed_after_the_message_was_sent(self, admin_client):
        from datetime import timedelta

        message = MessageFactory(status=S.SENT)
        Message.objects.filter(pk=message.pk).update(sent_at=message.mailing.updated_at + timedelta(minutes=1))
        assert "message-text-note" not in admin_client.get(f"{LOG}{message.pk}/change/").content.decode()
        Message.objects.filter(pk=message.pk).update(sent_at=message.mailing.updated_at - timedelta(minutes=1))
        content = admin_client.get(f"{LOG}{message.pk}/change/").content.decode()
        assert "after this message was sent: this is its text now, which may have been edited since" in content

    def test_a_deleted_client_is_said(self, admin_client):
        message = MessageFactory(status=S.CANCELLED, last_error="client deleted")
        message.client.delete()
        content = admin_client.get(f"{LOG}{message.pk}/change/").content.decode()
        assert "deleted (the message keeps the phone it went to)" in content
        assert "Not sent: client deleted." in content
