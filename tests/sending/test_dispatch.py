"""Dispatch on a real database: due messages handed to the workers in batches, under a token."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from mailings.models import Mailing, Message
from mailings.sending import dispatch
from mailings.sending.circuit import Circuit, CircuitSettings
from mailings.sending.fanout import fan_out
from tests.factories import ClientFactory, MessageFactory
from tests.sending.support import _config, _running

S = Message.Status


@pytest.mark.django_db
class TestDispatch:
    def test_it_queues_due_messages_in_batches_with_a_token(self, enqueued, committed):
        mailing = _running()
        ClientFactory.create_batch(7)
        fan_out(mailing=mailing, now=timezone.now() - timedelta(seconds=1))
        assert committed(dispatch.dispatch_due, config=_config(batch_size=3)) == 7
        assert [len(ids) for _, ids, _ in enqueued] == [3, 3, 1]
        for _, ids, token in enqueued:
            assert set(Message.objects.filter(id__in=ids).values_list("token", flat=True)) == {token}
        # Queued rows are not due again until the grace runs out.
        assert committed(dispatch.dispatch_due, config=_config(batch_size=3)) == 0

    def test_mailings_take_turns_so_a_big_one_does_not_hold_back_a_small_one(self, enqueued, committed):
        # The workers take batches in the order they are queued: one mailing's whole share first
        # would leave the other waiting (in a short mailing, perhaps until its end).
        now = timezone.now()
        big = _running(end_datetime=now + timedelta(hours=2))
        small = _running(end_datetime=now + timedelta(hours=1))
        for client in ClientFactory.create_batch(6):
            MessageFactory(mailing=big, client=client, next_attempt_at=now - timedelta(seconds=1))
        for client in ClientFactory.create_batch(4):
            MessageFactory(mailing=small, client=client, next_attempt_at=now - timedelta(seconds=1))
        assert committed(dispatch.dispatch_due, config=_config(batch_size=2, max_queued=100)) == 10
        # The one that ends first leads each turn.
        assert [mailing_id for mailing_id, _, _ in enqueued] == [small.pk, big.pk, small.pk, big.pk, big.pk]

    def test_it_keeps_the_queue_short(self, enqueued, committed):
        mailing = _running()
        ClientFactory.create_batch(10)
        fan_out(mailing=mailing, now=timezone.now() - timedelta(seconds=1))
        assert committed(dispatch.dispatch_due, config=_config(batch_size=2, max_queued=4)) == 4
        assert dispatch.queued_count(now=timezone.now()) == 4

    @pytest.mark.parametrize("status", [Mailing.Status.PAUSED, Mailing.Status.CANCELLED, Mailing.Status.SCHEDULED])
    def test_it_queues_nothing_for_a_mailing_that_is_not_running(self, enqueued, status, committed):
        mailing = _running()
        MessageFactory(mailing=mailing, next_attempt_at=timezone.now() - timedelta(seconds=1))
        Mailing.objects.filter(pk=mailing.pk).update(status=status)
        assert committed(dispatch.dispatch_due, config=_config()) == 0

    def test_it_queues_nothing_while_the_circuit_is_open(self, enqueued, committed):
        MessageFactory(mailing=_running(), next_attempt_at=timezone.now() - timedelta(seconds=1))
        Circuit(CircuitSettings()).open("provider down")
        assert committed(dispatch.dispatch_due, config=_config()) == 0
        assert enqueued == []

    def test_messages_outside_their_window_wait_for_its_opening(self, enqueued, committed):
        # 12:00 UTC: 15:00 in Moscow (inside 09:00-21:00), 03:00 in New York in winter (outside).
        now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
        mailing = _running(
            start_datetime=now - timedelta(hours=1),
            end_datetime=now + timedelta(days=2),
            send_window_start=datetime.strptime("09:00", "%H:%M").time(),
            send_window_end=datetime.strptime("21:00", "%H:%M").time(),
        )
        moscow = MessageFactory(
            mailing=mailing, client=ClientFactory(timezone="Europe/Moscow"), next_attempt_at=now - timedelta(1)
        )
        new_york = MessageFactory(
            mailing=mailing, client=ClientFactory(timezone="America/New_York"), next_attempt_at=now - timedelta(1)
        )
        assert committed(dispatch.dispatch_due, config=_config(), now=now) == 1
        assert enqueued[0][1] == [moscow.pk]
        new_york.refresh_from_db()
        assert new_york.next_attempt_at == datetime(2026, 1, 15, 14, 0, tzinfo=UTC)  # 09:00 EST
        assert new_york.token is None
