"""Personalised texts in the worker: rendered per client through a real sandbox, parts recorded and summed."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mailings import selectors
from mailings.counts import fold_message_counts
from mailings.models import Message, MessageCount
from mailings.routing import route_table
from mailings.sending.batch import claim
from tests.factories import ClientFactory, MessageFactory
from tests.sending.support import _running, _send

S = Message.Status


def _queue(mailing, clients) -> tuple[list[int], int]:
    token = 2000 + mailing.pk
    return [MessageFactory(mailing=mailing, client=c, token=token).pk for c in clients], token


@pytest.mark.django_db(transaction=True)
class TestRenderedPerClient:
    def test_each_client_gets_its_own_text(self, sandbox_factory):
        sandbox = sandbox_factory()
        anna = ClientFactory(attributes={"first_name": "Anna", "contract": "A-1"})
        boris = ClientFactory(attributes={"contract": "B-2"}, tag="vip")
        mailing = _running(message_text="{first_name|customer}, code {contract} ({tag}) {{ok}}")
        ids, token = _queue(mailing, [anna, boris])

        assert _send(mailing, ids, token) == {"sent": 2}

        received = set(sandbox.sandbox.state.received)
        assert received == {"Anna, code A-1 (regular) {ok}", "customer, code B-2 (vip) {ok}"}

    def test_a_plain_text_goes_with_its_braces_unescaped(self, sandbox_factory):
        sandbox = sandbox_factory()
        mailing = _running(message_text="Sale {{today}}")
        ids, token = _queue(mailing, [ClientFactory()])
        assert _send(mailing, ids, token) == {"sent": 1}
        assert set(sandbox.sandbox.state.received) == {"Sale {today}"}

    def test_a_client_lacking_a_required_attribute_fails_without_a_request(self, sandbox_factory):
        sandbox = sandbox_factory()
        has, lacks = ClientFactory(attributes={"contract": "A-1"}), ClientFactory()
        mailing = _running(message_text="Code {contract}")
        ids, token = _queue(mailing, [has, lacks])

        assert _send(mailing, ids, token) == {"sent": 1, "fail": 1}

        failed = Message.objects.get(client=lacks)
        assert failed.status == S.FAILED
        assert failed.last_error == (
            "not sent: the client has no attribute contract and {contract} has no default "
            "(write {contract|...} to give one)"
        )
        assert sandbox.stats["accepted"] == 1

    def test_a_rendered_text_over_the_parts_limit_fails_without_a_request(self, sandbox_factory, settings):
        settings.MAILING_MAX_PARTS = 1
        sandbox = sandbox_factory()
        short, long = ClientFactory(attributes={"note": "hi"}), ClientFactory(attributes={"note": "x" * 170})
        mailing = _running(message_text="{note}")
        ids, token = _queue(mailing, [short, long])

        assert _send(mailing, ids, token) == {"sent": 1, "fail": 1}

        assert Message.objects.get(client=long).last_error == (
            "the text rendered for this client is 2 SMS parts; at most 1 (MAILING_MAX_PARTS) are allowed"
        )
        assert sandbox.stats["accepted"] == 1


@pytest.mark.django_db(transaction=True)
class TestParts:
    def test_each_message_records_its_parts_and_statistics_sum_them(self, sandbox_factory):
        sandbox_factory()
        one, two = ClientFactory(attributes={"note": "short"}), ClientFactory(attributes={"note": "y" * 200})
        mailing = _running(message_text="{note}")
        ids, token = _queue(mailing, [one, two])

        assert _send(mailing, ids, token) == {"sent": 2}

        assert Message.objects.get(client=one).parts == 1
        assert Message.objects.get(client=two).parts == 2
        assert selectors.parts_sent_by_mailing(mailing_ids=[mailing.pk]) == {mailing.pk: 3}
        fold_message_counts()
        assert selectors.parts_sent_by_mailing(mailing_ids=[mailing.pk]) == {mailing.pk: 3}
        assert selectors.parts_sent_total() == 3

    def test_folding_the_counts_keeps_the_parts(self, sandbox_factory):
        sandbox_factory()
        mailing = _running(message_text="{note}")
        for note in ("short", "z" * 400):  # two batches: two count rows for `sent`, folded into one
            ids, token = _queue(mailing, [ClientFactory(attributes={"note": note})])
            Message.objects.filter(pk__in=ids).update(token=token + len(note))
            assert _send(mailing, ids, token + len(note)) == {"sent": 1}
        assert MessageCount.objects.filter(mailing_id=mailing.pk, status=S.SENT).count() == 2
        fold_message_counts()
        assert MessageCount.objects.filter(mailing_id=mailing.pk, status=S.SENT).count() == 1
        assert selectors.parts_sent_by_mailing(mailing_ids=[mailing.pk]) == {mailing.pk: 1 + 3}

    def test_a_plain_text_records_the_same_parts_for_every_message(self, sandbox_factory):
        sandbox_factory()
        mailing = _running(message_text="Ж" * 71)  # UCS-2, two parts
        ids, token = _queue(mailing, [ClientFactory(), ClientFactory()])
        assert _send(mailing, ids, token) == {"sent": 2}
        assert list(Message.objects.values_list("parts", flat=True)) == [2, 2]
        assert selectors.parts_sent_by_mailing(mailing_ids=[mailing.pk]) == {mailing.pk: 4}

    def test_a_message_moving_out_of_sent_takes_its_parts_away(self, sandbox_factory):
        sandbox_factory()
        mailing = _running(message_text="Hello")
        ids, token = _queue(mailing, [ClientFactory()])
        _send(mailing, ids, token)
        Message.objects.filter(pk=ids[0]).update(status=S.FAILED)
        assert selectors.parts_sent_by_mailing(mailing_ids=[mailing.pk]) == {mailing.pk: 0}


@pytest.mark.django_db
class TestClaimReadsWhatTheTextNeeds:
    def test_it_reads_fields_and_attributes_with_the_zone_in_as_many_queries_as_a_plain_claim(self):
        client = ClientFactory(attributes={"first_name": "Anna"}, timezone="Asia/Tokyo")
        mailing = _running()
        plain_ids, plain_token = _queue(mailing, [ClientFactory()])
        route_table()  # the routes, read once per process every few seconds, are not the claim's
        with CaptureQueriesContext(connection) as plain:
            claim(mailing_id=mailing.pk, message_ids=plain_ids, token=plain_token, lease=60)
        ids, _ = _queue(mailing, [client])
        Message.objects.filter(pk__in=ids).update(token=77)
        token = 77
        with CaptureQueriesContext(connection) as personalised:
            rows, _ = claim(
                mailing_id=mailing.pk,
                message_ids=ids,
                token=token,
                lease=60,
                fields=("tag",),
                attributes=("first_name", "contract"),
            )
        assert len(personalised) == len(plain)
        assert rows[0].zone == "Asia/Tokyo"
        assert rows[0].values == {"tag": "regular", "first_name": "Anna", "contract": None}

    def test_a_plain_text_reads_no_values(self):
        mailing = _running()
        ids, token = _queue(mailing, [ClientFactory()])
        rows, _ = claim(mailing_id=mailing.pk, message_ids=ids, token=token, lease=60)
        assert rows[0].values is None
