"""The sender waits for its provider's rate (in SMS parts per second) right before each request,
through a real sandbox provider and the real Redis: waiting uses no attempt, and a message whose
slot comes too late for its batch is held."""

import asyncio
import threading
import time

import pytest
from django.utils import timezone

from mailings.models import Mailing, Message
from mailings.sending import runtime
from mailings.sending.limiter import UNAVAILABLE, Limiter, RedisBuckets, buckets_from_settings
from tests.sending.support import _queued, _running, _send

S = Message.Status
TWO_PARTS = "y" * 200  # GSM-7: two parts of 153


@pytest.fixture(autouse=True)
def empty_bucket():
    buckets = buckets_from_settings()
    key = f"{buckets.prefix}:limiter:default"
    buckets.client.delete(key)
    yield buckets
    buckets.client.delete(key)


def _fill_bucket(seconds: float, rate: float) -> None:
    """Take `seconds` worth of the default provider's parts, as other workers would."""
    limiter = Limiter(buckets_from_settings(), rate_of=lambda _name: rate)
    asyncio.run(limiter.take("default", round(seconds * rate), until=time.time() + 60))


@pytest.mark.django_db(transaction=True)
class TestSenderRate:
    def test_it_sends_at_the_providers_rate_in_parts(self, sandbox_factory, settings):
        sandbox = sandbox_factory()
        settings.SENDING_PARTS_PER_SECOND = 20
        mailing = _running(message_text=TWO_PARTS)
        ids, token = _queued(mailing, 25)  # 50 parts: about 2.5 s at 20 parts/s
        assert _send(mailing, ids, token) == {"sent": 25}
        series = sandbox.sandbox.state.seconds.series()
        assert sum(second["parts"] for second in series) == 50
        assert max(second["parts"] for second in series) <= 22
        assert len(series) >= 3  # spread over the seconds, not sent at once
        assert set(Message.objects.filter(id__in=ids).values_list("status", "attempts")) == {(S.SENT, 1)}

    def test_a_batch_reads_its_providers_rate_once(self, sandbox_factory, monkeypatch):
        sandbox_factory()
        read = []
        limiter = Limiter(buckets_from_settings(), rate_of=lambda name: read.append(name) or 0.0)
        monkeypatch.setattr(runtime, "_limiter", limiter)
        mailing = _running(message_text="Hi")
        ids, token = _queued(mailing, 25)
        assert _send(mailing, ids, token) == {"sent": 25}
        assert read == ["default"]  # not once a message

    def test_a_slot_past_the_batchs_time_holds_the_message_without_an_attempt(self, sandbox_factory, settings):
        sandbox = sandbox_factory()
        settings.SENDING_PARTS_PER_SECOND = 1
        _fill_bucket(5, rate=1)  # the provider's next 5 s are taken
        mailing = _running(message_text="Hi")
        ids, token = _queued(mailing, 3)
        gateway = settings.SENDING_CONNECT_TIMEOUT + settings.SENDING_READ_TIMEOUT
        before = timezone.now()
        assert _send(mailing, ids, token, lease=gateway + 5 + 2) == {"hold": 3}  # the batch stops within 2 s
        assert sandbox.stats["requests"] == 0
        for message in Message.objects.filter(id__in=ids):
            assert (message.status, message.attempts) == (S.PENDING, 0)
            assert message.last_error == "provider default is at its rate of 1 SMS parts per second"
            assert 3 <= (message.next_attempt_at - before).total_seconds() <= 6  # when its slot would come

    def test_a_pause_during_the_wait_holds_the_message(self, sandbox_factory, settings):
        sandbox = sandbox_factory()
        settings.SENDING_PARTS_PER_SECOND = 1
        _fill_bucket(1.5, rate=1)
        mailing = _running(message_text="Hi")
        ids, token = _queued(mailing, 1)
        pause = threading.Timer(0.3, lambda: Mailing.objects.filter(pk=mailing.pk).update(status=Mailing.Status.PAUSED))
        pause.start()
        try:
            assert _send(mailing, ids, token) == {"hold": 1}
        finally:
            pause.join()
        assert sandbox.stats["requests"] == 0
        assert Message.objects.get(pk=ids[0]).attempts == 0

    def test_redis_unreachable_holds_the_batch(self, sandbox_factory, settings, monkeypatch):
        sandbox = sandbox_factory()
        settings.SENDING_PARTS_PER_SECOND = 50
        monkeypatch.setattr(runtime, "_limiter", Limiter(RedisBuckets("redis://127.0.0.1:1/0", "x")))
        mailing = _running(message_text="Hi")
        ids, token = _queued(mailing, 3)
        assert _send(mailing, ids, token) == {"hold": 3}
        assert sandbox.stats["requests"] == 0
        assert set(Message.objects.filter(id__in=ids).values_list("status", "attempts", "last_error")) == {
            (S.PENDING, 0, UNAVAILABLE)
        }

    def test_without_a_limit_redis_is_not_asked(self, sandbox_factory, settings, monkeypatch):
        sandbox_factory()
        settings.SENDING_PARTS_PER_SECOND = 0
        monkeypatch.setattr(runtime, "_limiter", Limiter(RedisBuckets("redis://127.0.0.1:1/0", "x")))
        mailing = _running(message_text="Hi")
        ids, token = _queued(mailing, 3)
        assert _send(mailing, ids, token) == {"sent": 3}
