"""The engine on a real database (and a real sandbox provider where a batch sends)."""

import dataclasses
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from mailings import services
from mailings.models import Mailing, Message
from mailings.sending import dispatch, processor
from mailings.sending.batch import batch_send, claim
from mailings.sending.circuit import Circuit, CircuitSettings, circuit_state
from mailings.sending.config import SendingConfig
from mailings.sending.fanout import fan_out
from mailings.sending.recorder import record
from mailings.sending.sender import BatchSender, MailingSnapshot, MailingView
from tests.factories import ClientFactory, MailingFactory, MessageFactory

S = Message.Status


def _config(**overrides) -> SendingConfig:
    config = SendingConfig.from_settings()
    gateway = overrides.pop("gateway", {})
    return dataclasses.replace(config, gateway=dataclasses.replace(config.gateway, **gateway), **overrides)


def _statuses(mailing) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in mailing.messages.values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple[int, list[int], int]]:
    """What dispatch hands to the broker, captured where it is dispatched (the send_batch task's .delay)."""
    calls: list[tuple[int, list[int], int]] = []
    monkeypatch.setattr(
        dispatch.send_batch_task,
        "delay",
        lambda *, mailing_id, message_ids, token: calls.append((mailing_id, message_ids, token)),
    )
    return calls


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a function and then its on-commit callbacks (the test's transaction never commits)."""

    def run(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return run


def _running(**kwargs) -> Mailing:
    now = timezone.now()
    kwargs.setdefault("start_datetime", now - timedelta(minutes=1))
    kwargs.setdefault("end_datetime", now + timedelta(hours=1))
    return MailingFactory(status=Mailing.Status.RUNNING, started_at=now, **kwargs)


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


@pytest.mark.django_db
class TestClaim:
    def test_only_the_token_holder_claims_and_only_once(self):
        mailing = _running()
        message = MessageFactory(mailing=mailing, token=41)
        assert claim(mailing_id=mailing.pk, message_ids=[message.pk], token=40, lease=60)[0] == []
        rows, claim_token = claim(mailing_id=mailing.pk, message_ids=[message.pk], token=41, lease=60)
        assert [r.id for r in rows] == [message.pk]
        message.refresh_from_db()
        assert (message.status, message.token) == (S.SENDING, claim_token)
        assert message.lease_expires_at > timezone.now()
        # The same task delivered again (acks_late after a crash) finds nothing to claim.
        assert claim(mailing_id=mailing.pk, message_ids=[message.pk], token=41, lease=60)[0] == []

    def test_a_paused_mailing_claims_nothing(self):
        mailing = _running()
        message = MessageFactory(mailing=mailing, token=5)
        services.mailing_pause(mailing=mailing)
        assert claim(mailing_id=mailing.pk, message_ids=[message.pk], token=5, lease=60)[0] == []
        message.refresh_from_db()
        assert message.status == S.PENDING


def _queued(mailing, n=1, **fields) -> tuple[list[int], int]:
    """n messages of `mailing` queued under one token, as dispatch leaves them."""
    token = 1000 + mailing.pk
    ids = [MessageFactory(mailing=mailing, token=token, **fields).pk for _ in range(n)]
    return ids, token


def _send(mailing, ids, token, **config):
    return batch_send(
        mailing_id=mailing.pk,
        message_ids=ids,
        token=token,
        config=_config(**config),
        circuit=Circuit(CircuitSettings(threshold=3, cooldown=30, refresh=0)),
    )


@pytest.mark.django_db(transaction=True)
class TestSendBatch:
    def test_it_sends_and_records_every_message(self, sandbox_factory):
        sandbox = sandbox_factory()
        mailing = _running(message_text="Hello")
        ids, token = _queued(mailing, 5)
        assert _send(mailing, ids, token) == {"sent": 5}
        rows = Message.objects.filter(id__in=ids)
        assert {(m.status, m.attempts, m.token, m.last_error) for m in rows} == {(S.SENT, 1, None, "")}
        assert all(m.sent_at is not None for m in rows)
        assert sandbox.stats["accepted"] == 5
        assert set(map(int, sandbox.sandbox.state.accepted)) == set(ids)

    def test_a_transient_error_schedules_a_retry_with_backoff(self, sandbox_factory):
        sandbox_factory(error_rate=1.0)
        mailing = _running()
        ids, token = _queued(mailing, 2)
        before = timezone.now()
        assert _send(mailing, ids, token, backoff_base=10, backoff_cap=60) == {"retry": 2}
        for message in Message.objects.filter(id__in=ids):
            assert (message.status, message.attempts, message.token) == (S.PENDING, 1, None)
            assert before <= message.next_attempt_at <= timezone.now() + timedelta(seconds=10)
            assert message.last_error.startswith("HTTP ")

    def test_the_last_attempt_fails_the_message_with_the_reason(self, sandbox_factory):
        sandbox_factory(garbage_rate=1.0)
        mailing = _running()
        ids, token = _queued(mailing, 1, attempts=4)
        assert _send(mailing, ids, token, max_attempts=5) == {"fail": 1}
        message = Message.objects.get(pk=ids[0])
        assert (message.status, message.attempts) == (S.FAILED, 5)
        assert message.last_error.startswith("gave up after 5 attempts: HTTP 200")

    def test_a_permanent_error_fails_at_once(self, sandbox_factory, settings):
        sandbox_factory()
        settings.SENDING_API_URL += "/no-such-path"  # the provider answers 404
        mailing = _running()
        ids, token = _queued(mailing, 1)
        assert _send(mailing, ids, token) == {"fail": 1}
        message = Message.objects.get(pk=ids[0])
        assert (message.status, message.attempts) == (S.FAILED, 1)
        assert message.last_error.startswith("HTTP 404")

    def test_nothing_is_sent_after_the_end(self, sandbox_factory):
        sandbox = sandbox_factory(latency_ms=1500)
        now = timezone.now()
        mailing = _running(end_datetime=now + timedelta(milliseconds=600))
        ids, token = _queued(mailing, 3)
        counts = _send(mailing, ids, token)
        assert counts == {"expire": 3}
        assert set(Message.objects.filter(id__in=ids).values_list("status", flat=True)) == {S.EXPIRED}
        # The sandbox notices the hang-ups when its 1.5 s sleep ends; how soon that is after the
        # batch depends on how much of the 600 ms the set-up took, so wait for it, not a fixed time.
        deadline = time.monotonic() + 10
        while sandbox.stats["requests"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sandbox.stats["accepted"] == 0
        assert sandbox.stats["outcomes"] == {"dropped": 3}
        # Cut off by the end, not failed by the provider: the circuit stays closed for other mailings.
        assert circuit_state() is None

    def test_a_refused_token_opens_the_circuit_and_burns_no_attempt(self, sandbox_factory, settings):
        sandbox_factory()
        settings.SENDING_API_TOKEN = "wrong-token"
        mailing = _running()
        ids, token = _queued(mailing, 3)
        counts = _send(mailing, ids, token)
        assert counts == {"hold": 3}
        assert circuit_state()["reason"] == "HTTP 401: the provider refused our token"
        assert set(Message.objects.filter(id__in=ids).values_list("status", "attempts")) == {(S.PENDING, 0)}
        assert "wrong-token" not in str(circuit_state())

    def test_an_open_circuit_holds_the_batch(self, sandbox_factory):
        sandbox = sandbox_factory()
        Circuit(CircuitSettings()).open("provider down")
        mailing = _running()
        ids, token = _queued(mailing, 2)
        assert _send(mailing, ids, token) == {"hold": 2}
        assert sandbox.stats["requests"] == 0
        for message in Message.objects.filter(id__in=ids):
            assert (message.status, message.attempts) == (S.PENDING, 0)
            assert message.next_attempt_at > timezone.now()

    def test_a_run_of_failures_opens_the_circuit(self, sandbox_factory):
        sandbox_factory(error_rate=1.0)
        mailing = _running()
        ids, token = _queued(mailing, 10)
        counts = _send(mailing, ids, token, gateway={"concurrency": 1})
        assert counts == {"retry": 3, "hold": 7}
        assert "3 failures in a row" in circuit_state()["reason"]

    def test_a_message_outside_its_window_waits_for_the_opening(self, sandbox_factory):
        sandbox = sandbox_factory()
        local_now = timezone.now().astimezone(__import__("zoneinfo").ZoneInfo("Asia/Kolkata"))
        closed_from = (local_now + timedelta(hours=1)).time().replace(second=0, microsecond=0)
        closed_to = (local_now + timedelta(hours=2)).time().replace(second=0, microsecond=0)
        mailing = _running(send_window_start=closed_from, send_window_end=closed_to)
        ids, token = _queued(mailing, 1, client=ClientFactory(timezone="Asia/Kolkata"))
        assert _send(mailing, ids, token) == {"hold": 1}
        message = Message.objects.get(pk=ids[0])
        assert message.status == S.PENDING
        assert message.attempts == 0
        assert timedelta(minutes=55) < message.next_attempt_at - timezone.now() < timedelta(minutes=61)
        assert sandbox.stats["requests"] == 0

    def test_a_pause_or_cancel_during_the_batch_stops_it(self, sandbox_factory):
        sandbox = sandbox_factory()
        for control, expected in [(services.mailing_pause, S.PENDING), (services.mailing_cancel, S.CANCELLED)]:
            mailing = _running()
            ids, token = _queued(mailing, 2)
            rows, claim_token = claim(mailing_id=mailing.pk, message_ids=ids, token=token, lease=60)
            control(mailing=mailing)
            view = MailingView(mailing.pk, MailingSnapshot.read(mailing.pk))
            sender = BatchSender(mailing_id=mailing.pk, config=_config(), circuit=Circuit(CircuitSettings()))
            import asyncio

            decisions = asyncio.run(sender.send(rows, view))
            record(decisions=decisions, token=claim_token)
            assert set(Message.objects.filter(id__in=ids).values_list("status", "attempts")) == {(expected, 0)}
        assert sandbox.stats["requests"] == 0

    def test_a_message_taken_back_meanwhile_keeps_its_new_owner_unless_it_was_sent(self, sandbox_factory):
        from mailings.sending.sender import Action, Decision

        mailing = _running()
        ids, token = _queued(mailing, 2)
        rows, claim_token = claim(mailing_id=mailing.pk, message_ids=ids, token=token, lease=60)
        # The reaper took both back (this worker looked dead); one was queued again under a new token.
        Message.objects.filter(id__in=ids).update(status=S.PENDING, token=None)
        Message.objects.filter(pk=ids[1]).update(token=77)
        retried = Decision(rows[1], Action.RETRY, "HTTP 503", timezone.now())
        record(decisions=[Decision(rows[0], Action.SENT), retried], token=claim_token)
        sent, requeued = Message.objects.get(pk=ids[0]), Message.objects.get(pk=ids[1])
        # It went out: recorded as sent, so that nobody sends it again.
        assert (sent.status, sent.attempts, sent.token) == (S.SENT, 1, None)
        # Its outcome is unknown to the new owner: left alone.
        assert (requeued.status, requeued.attempts, requeued.token) == (S.PENDING, 0, 77)

    def test_a_message_whose_client_was_deleted_while_out_is_cancelled(self, sandbox_factory):
        from mailings.sending.sender import Action, Decision

        mailing = _running()
        ids, token = _queued(mailing, 1)
        rows, claim_token = claim(mailing_id=mailing.pk, message_ids=ids, token=token, lease=60)
        services.client_delete(client=Message.objects.get(pk=ids[0]).client)
        record(decisions=[Decision(rows[0], Action.RETRY, "HTTP 503", timezone.now())], token=claim_token)
        message = Message.objects.get(pk=ids[0])
        assert (message.status, message.client_id, message.last_error) == (S.CANCELLED, None, "client deleted")

    def test_a_probe_that_could_not_go_is_handed_back(self, sandbox_factory):
        sandbox = sandbox_factory()
        opener = Circuit(CircuitSettings(cooldown=0.01, refresh=0))
        opener.open("provider down")
        time.sleep(0.05)
        local_now = timezone.now().astimezone(__import__("zoneinfo").ZoneInfo("UTC"))
        mailing = _running(
            send_window_start=(local_now + timedelta(hours=2)).time(),
            send_window_end=(local_now + timedelta(hours=3)).time(),
        )
        ids, token = _queued(mailing, 1, client=ClientFactory(timezone="UTC"))
        worker = Circuit(CircuitSettings(cooldown=0.01, refresh=0))
        batch_send(mailing_id=mailing.pk, message_ids=ids, token=token, config=_config(), circuit=worker)
        assert sandbox.stats["requests"] == 0
        # The held probe told nothing about the provider: another process may probe at once.
        assert Circuit(CircuitSettings(cooldown=0.01, refresh=0)).acquire_probe()

    def test_a_worker_killed_mid_batch_has_recorded_what_it_sent_but_its_requests_in_flight(
        self, sandbox_factory, monkeypatch
    ):
        # The provider accepted six messages; the worker then dies before the batch ends. Had it
        # kept their `sent` for the end of the batch, all six would go a second time after the lease.
        from mailings.gateway import Gateway, Outcome, SendResult

        class Killed(BaseException):
            """Not an Exception: nothing in the batch catches it, as nothing survives a SIGKILL."""

        sandbox_factory()
        mailing = _running()
        ids, token = _queued(mailing, 10)
        answered: list[int] = []

        async def send(self, *, message_id, phone, text, deadline=None):
            if len(answered) == 6:
                raise Killed
            answered.append(message_id)
            return SendResult(message_id, Outcome.SENT, 200, "", 0.001)

        monkeypatch.setattr(Gateway, "send", send)
        with pytest.raises(Killed):
            _send(mailing, ids, token, gateway={"concurrency": 2})
        statuses = dict(Message.objects.filter(id__in=ids).values_list("id", "status"))
        unrecorded = [i for i in answered if statuses[i] != S.SENT]
        assert len(unrecorded) <= 2, statuses  # no more than the requests in flight
        assert {statuses[i] for i in unrecorded} <= {S.SENDING}  # the reaper's, once the lease runs out
        assert {statuses[i] for i in set(ids) - set(answered)} == {S.SENDING}

    def test_a_failed_probe_holds_its_message_without_using_an_attempt(self, sandbox_factory):
        # A long outage means a probe every cool-down: were each failed probe an attempt, a
        # message probed a few times would fail although the circuit was holding everything.
        sandbox = sandbox_factory(error_rate=1.0)
        Circuit(CircuitSettings(cooldown=0.01, refresh=0)).open("provider down")
        time.sleep(0.05)
        mailing = _running()
        ids, token = _queued(mailing, 1, attempts=4)
        worker = Circuit(CircuitSettings(cooldown=0.01, refresh=0))
        counts = batch_send(
            mailing_id=mailing.pk, message_ids=ids, token=token, config=_config(max_attempts=5), circuit=worker
        )
        assert counts == {"hold": 1}
        assert sandbox.stats["requests"] == 1
        message = Message.objects.get(pk=ids[0])
        assert (message.status, message.attempts) == (S.PENDING, 4)
        assert message.last_error.startswith("probe failed: HTTP ")
        assert "probe failed" in circuit_state()["reason"]
        assert message.next_attempt_at.timestamp() >= circuit_state()["until"] - 0.001


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


class TestCacheTrouble:
    def test_the_circuit_keeps_its_last_state_when_the_cache_fails(self, monkeypatch):
        from django.core.cache import cache
        from redis.exceptions import ConnectionError as RedisConnectionError

        circuit = Circuit(CircuitSettings(refresh=0))
        circuit.open("provider down")

        def broken(*args, **kwargs):
            raise RedisConnectionError("Redis is restarting")

        with monkeypatch.context() as patched:
            for method in ("get", "add", "set", "delete", "delete_many"):
                patched.setattr(cache, method, broken)
            assert circuit.mode().value == "open"
            assert circuit_state() is None  # operators see "closed", the worker keeps its own view
            # Nothing raises mid-batch, and nobody can take the probe while the cache is away.
            circuit.record_success()
            circuit.record_failure("HTTP 503")
            assert not circuit.acquire_probe()
            assert circuit.mode().value == "open"


@pytest.mark.django_db(transaction=True)
class TestRequestLog:
    def test_every_provider_request_is_logged_with_its_ids_status_and_duration(self, sandbox_factory, caplog):
        sandbox_factory(error_rate=1.0, token="secret-provider-token-xyz")
        mailing = _running()
        ids, token = _queued(mailing, 2)
        with caplog.at_level("INFO", logger="mailings.sending.sender"):
            _send(mailing, ids, token)
        answered = [r for r in caplog.records if r.getMessage() == "provider answered"]
        assert sorted(r.message_id for r in answered) == sorted(ids)
        for line in answered:
            assert line.mailing_id == mailing.pk
            assert line.client_id is not None
            assert line.status in (500, 502, 503, 429)
            assert line.outcome == "transient"
            assert line.duration_ms >= 0
        assert "secret-provider-token-xyz" not in caplog.text
