"""The sender's decisions for each message of a batch, through a real sandbox provider."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from mailings import services
from mailings.models import Mailing, Message
from mailings.sending.batch import batch_send, claim
from mailings.sending.circuit import Circuit, CircuitSettings, circuit_state
from mailings.sending.recorder import record
from mailings.sending.sender import BatchSender, MailingSnapshot, MailingView
from tests.factories import ClientFactory
from tests.sending.support import _config, _queued, _running, _send

S = Message.Status


@pytest.mark.django_db(transaction=True)
class TestSendDecisions:
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
        sandbox = sandbox_factory(latency_ms=2500)
        mailing = _running()
        ids, token = _queued(mailing, 3)
        # The end is set once the rows are in: however long that took, the requests start before
        # it (the batch reads it when it starts) and are still waiting for their answers at it.
        Mailing.objects.filter(pk=mailing.pk).update(end_datetime=timezone.now() + timedelta(seconds=1))
        counts = _send(mailing, ids, token)
        assert counts == {"expire": 3}
        assert set(Message.objects.filter(id__in=ids).values_list("status", flat=True)) == {S.EXPIRED}
        # The sandbox notices the hang-ups when its 2.5 s sleep ends: wait for it, not a fixed time.
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
            sender = BatchSender(mailing_id=mailing.pk, config=_config(), circuits=Circuit(CircuitSettings()))
            import asyncio

            decisions = asyncio.run(sender.send(rows, view))
            record(decisions=decisions, token=claim_token)
            assert set(Message.objects.filter(id__in=ids).values_list("status", "attempts")) == {(expected, 0)}
        assert sandbox.stats["requests"] == 0

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
        batch_send(mailing_id=mailing.pk, message_ids=ids, token=token, config=_config(), circuits=worker)
        assert sandbox.stats["requests"] == 0
        # The held probe told nothing about the provider: another process may probe at once.
        assert Circuit(CircuitSettings(cooldown=0.01, refresh=0)).acquire_probe()

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
            mailing_id=mailing.pk, message_ids=ids, token=token, config=_config(max_attempts=5), circuits=worker
        )
        assert counts == {"hold": 1}
        assert sandbox.stats["requests"] == 1
        message = Message.objects.get(pk=ids[0])
        assert (message.status, message.attempts) == (S.PENDING, 4)
        assert message.last_error.startswith("probe failed: HTTP ")
        assert "probe failed" in circuit_state()["reason"]
        assert message.next_attempt_at.timestamp() >= circuit_state()["until"] - 0.001


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

    def test_a_sent_message_is_logged_at_debug_and_each_batch_in_one_info_line(self, sandbox_factory, caplog):
        sandbox_factory()
        mailing = _running()
        ids, token = _queued(mailing, 3)
        with caplog.at_level("INFO", logger="mailings.sending.sender"):
            assert _send(mailing, ids, token) == {"sent": 3}
        assert not [r for r in caplog.records if r.getMessage() == "provider answered"]
        (batch,) = [r for r in caplog.records if r.getMessage().startswith("provider requests: mean ")]
        assert (batch.levelname, batch.mailing_id, batch.count, batch.outcome) == ("INFO", mailing.pk, 3, "sent:3")
        assert "slowest" in batch.getMessage()

        caplog.clear()
        ids, token = _queued(_running(), 2)
        with caplog.at_level("DEBUG", logger="mailings.sending.sender"):
            _send(Mailing.objects.get(pk=Message.objects.get(pk=ids[0]).mailing_id), ids, token)
        answered = [r for r in caplog.records if r.getMessage() == "provider answered"]
        assert sorted(r.message_id for r in answered) == sorted(ids)
        assert {(r.levelname, r.status, r.outcome) for r in answered} == {("DEBUG", 200, "sent")}
