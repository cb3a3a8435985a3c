"""The tick on a real database: fan-out, start, finish, reap, audiences taken again."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mailings import services
from mailings.models import Mailing, Message
from mailings.sending import processor
from mailings.sending.fanout import fan_out
from tests.factories import ClientFactory, MailingFactory, MessageFactory
from tests.sending.support import _config, _running

S = Message.Status


@pytest.mark.django_db
class TestFanOut:
    def test_it_creates_one_pending_message_per_matching_client(self):
        match = [ClientFactory(operator_code="913", tag="vip") for _ in range(3)]
        ClientFactory(operator_code="913", tag="other")
        ClientFactory(operator_code="926", tag="vip")
        mailing = MailingFactory(filter_operator_code="913", filter_tag="vip")
        assert fan_out(mailing=mailing, now=timezone.now()) == 3
        rows = list(mailing.messages.values_list("client_id", "phone_number", "status", "attempts"))
        assert sorted(rows) == sorted((c.pk, c.phone_number, S.PENDING, 0) for c in match)

    @pytest.mark.parametrize(
        ("operator_code", "tag", "expected"), [("", "", 4), ("913", "", 2), ("", "vip", 2), ("913", "vip", 1)]
    )
    def test_empty_filter_values_match_any(self, operator_code, tag, expected):
        for code, client_tag in [("913", "vip"), ("913", "x"), ("926", "vip"), ("926", "x")]:
            ClientFactory(operator_code=code, tag=client_tag)
        mailing = MailingFactory(filter_operator_code=operator_code, filter_tag=tag)
        assert fan_out(mailing=mailing, now=timezone.now()) == expected

    def test_running_it_twice_adds_nothing(self):
        ClientFactory.create_batch(5)
        mailing = MailingFactory()
        fan_out(mailing=mailing, now=timezone.now())
        assert fan_out(mailing=mailing, now=timezone.now()) == 0
        assert mailing.messages.count() == 5


@pytest.mark.django_db
class TestStartAndFinish:
    def test_a_due_mailing_starts_and_takes_its_audience(self, enqueued, committed):
        ClientFactory.create_batch(3)
        mailing = MailingFactory(start_datetime=timezone.now() - timedelta(seconds=1))
        summary = committed(processor.mailings_process, config=_config())
        mailing.refresh_from_db()
        assert summary["started"] == 1
        assert mailing.status == Mailing.Status.RUNNING
        assert mailing.started_at is not None
        assert mailing.messages.count() == 3
        assert sum(len(ids) for _, ids, _ in enqueued) == 3

    def test_a_future_mailing_waits(self, enqueued, committed):
        ClientFactory.create_batch(2)
        mailing = MailingFactory(start_datetime=timezone.now() + timedelta(minutes=5))
        committed(processor.mailings_process, config=_config())
        mailing.refresh_from_db()
        assert mailing.status == Mailing.Status.SCHEDULED
        assert not mailing.messages.exists()
        assert enqueued == []

    def test_overlapping_ticks_take_the_audience_once(self):
        ClientFactory.create_batch(4)
        mailing = MailingFactory(start_datetime=timezone.now() - timedelta(seconds=1))
        now = timezone.now()
        assert processor.start_due_mailings(now=now) == 1
        assert processor.start_due_mailings(now=now) == 0
        assert mailing.messages.count() == 4

    def test_a_mailing_past_its_end_expires_what_waits_and_finishes(self):
        mailing = _running()
        sent = MessageFactory(mailing=mailing, status=S.SENT)
        waiting = MessageFactory(mailing=mailing, status=S.PENDING)
        processor.finish_mailings(now=mailing.end_datetime + timedelta(seconds=1))
        mailing.refresh_from_db()
        waiting.refresh_from_db()
        sent.refresh_from_db()
        assert mailing.status == Mailing.Status.FINISHED
        assert mailing.finished_at is not None
        assert (waiting.status, sent.status) == (S.EXPIRED, S.SENT)
        assert "ended" in waiting.last_error

    def test_it_waits_for_messages_on_the_wire_before_finishing(self):
        mailing = _running()
        MessageFactory(mailing=mailing, status=S.SENDING, lease_expires_at=timezone.now() + timedelta(minutes=1))
        processor.finish_mailings(now=mailing.end_datetime + timedelta(seconds=1))
        mailing.refresh_from_db()
        assert mailing.status == Mailing.Status.RUNNING

    def test_a_mailing_that_never_started_finishes_without_messages(self, committed):
        ClientFactory()
        mailing = MailingFactory(
            start_datetime=timezone.now() - timedelta(hours=2), end_datetime=timezone.now() - timedelta(hours=1)
        )
        committed(processor.mailings_process, config=_config())
        mailing.refresh_from_db()
        assert mailing.status == Mailing.Status.FINISHED
        assert not mailing.messages.exists()

    def test_a_running_mailing_with_nothing_left_finishes_early(self):
        mailing = _running()
        MessageFactory(mailing=mailing, status=S.SENT)
        MessageFactory(mailing=mailing, status=S.FAILED)
        processor.finish_mailings(now=timezone.now())
        mailing.refresh_from_db()
        assert mailing.status == Mailing.Status.FINISHED

    def test_a_dead_workers_messages_go_back_to_pending(self):
        mailing = _running()
        now = timezone.now()
        dead = MessageFactory(
            mailing=mailing, status=S.SENDING, token=7, lease_expires_at=now - timedelta(seconds=1), attempts=2
        )
        alive = MessageFactory(mailing=mailing, status=S.SENDING, token=8, lease_expires_at=now + timedelta(minutes=1))
        assert processor.reap_expired_leases(now=now) == 1
        dead.refresh_from_db()
        alive.refresh_from_db()
        assert (dead.status, dead.token, dead.attempts) == (S.PENDING, None, 2)
        assert alive.status == S.SENDING


@pytest.mark.django_db
class TestAudienceChanges:
    def test_a_new_filter_takes_effect_at_the_next_tick(self, enqueued, committed):
        old = ClientFactory(tag="old")
        new = ClientFactory(tag="new")
        mailing = _running(filter_tag="old")
        fan_out(mailing=mailing, now=timezone.now())
        sent_before = MessageFactory(mailing=mailing, client=ClientFactory(tag="old"), status=S.SENT)
        services.mailing_update(mailing=mailing, filter_tag="new")
        mailing.refresh_from_db()
        assert mailing.audience_outdated
        committed(processor.mailings_process, config=_config())
        by_client = dict(mailing.messages.values_list("client_id", "status"))
        assert by_client[old.pk] == S.CANCELLED
        assert by_client[new.pk] in (S.PENDING,)
        assert by_client[sent_before.client_id] == S.SENT

    def test_a_new_end_or_text_keeps_the_audience(self):
        mailing = _running()
        services.mailing_update(
            mailing=mailing, message_text="changed", end_datetime=mailing.end_datetime + timedelta(1)
        )
        mailing.refresh_from_db()
        assert not mailing.audience_outdated


@pytest.mark.django_db
class TestTickGuards:
    def test_a_filter_change_does_not_add_messages_to_a_mailing_that_ended(self):
        ClientFactory(tag="new")
        mailing = _running(filter_tag="old")
        Mailing.objects.filter(pk=mailing.pk).update(audience_outdated=True, status=Mailing.Status.FINISHED)
        assert processor.retake_outdated_audiences(now=timezone.now()) == 0
        assert not mailing.messages.exists()

    def test_leftovers_of_closed_mailings_are_swept(self):
        now = timezone.now()
        finished = _running()
        cancelled = _running()
        late = MessageFactory(mailing=finished, status=S.PENDING)
        dropped = MessageFactory(mailing=cancelled, status=S.PENDING)
        Mailing.objects.filter(pk=finished.pk).update(status=Mailing.Status.FINISHED, finished_at=now)
        Mailing.objects.filter(pk=cancelled.pk).update(status=Mailing.Status.CANCELLED, finished_at=now)
        processor.finish_mailings(now=now)
        late.refresh_from_db()
        dropped.refresh_from_db()
        assert (late.status, dropped.status) == (S.EXPIRED, S.CANCELLED)
