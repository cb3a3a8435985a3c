"""Worker heartbeats in the (real) cache, the claims registered under them, and the tick's hand-back."""

import time
from unittest import mock

import pytest
from django.core.cache import cache
from django.utils import timezone

from mailings.models import Message
from mailings.sending import liveness, processor
from mailings.sending.batch import claim
from tests.sending.support import _queued, _running

S = Message.Status


@pytest.fixture
def beat():
    """This process's heartbeat, its thread stopped so that the test decides when it beats."""
    liveness.forget_inherited()
    heartbeat = liveness.heartbeat()
    heartbeat.stop()
    yield heartbeat
    liveness.forget_inherited()


def expire(heartbeat) -> None:
    """What a pause longer than the key's lifetime leaves: the key gone, the last beat long ago."""
    cache.delete(liveness.BEAT_KEY.format(heartbeat.identity))
    heartbeat.alive_until = time.monotonic() - 1


class TestHeartbeat:
    def test_a_beat_keeps_the_key_and_the_identity(self, beat):
        identity = beat.identity
        beat.beat()
        assert beat.identity == identity
        assert cache.get(liveness.BEAT_KEY.format(identity)) == 1
        assert beat.alive_until > time.monotonic()

    def test_a_process_whose_key_expired_takes_a_new_identity_and_its_batches_are_fenced(self, beat):
        fence = liveness.register_claim(11, lease=120)
        assert not fence.lost()
        expire(beat)
        assert fence.lost()  # before its thread even asked Redis
        old = beat.identity
        beat.beat()
        assert beat.identity != old
        assert fence.lost()  # for good: the old identity never beats again
        assert not liveness.register_claim(12, lease=120).lost()

    def test_redis_down_leaves_the_lease_as_the_backstop(self, beat):
        with mock.patch.object(liveness.cache, "set", side_effect=ConnectionError("down")):
            fence = liveness.register_claim(13, lease=120)
        assert fence.beat is None
        assert not fence.lost()
        with mock.patch.object(liveness.cache, "get_many", side_effect=ConnectionError("down")):
            assert liveness.dead_claims([13]) == []


class TestDeadClaims:
    def test_only_claims_whose_process_stopped_beating_are_dead(self, beat):
        liveness.register_claim(21, lease=120)
        cache.set(liveness.CLAIM_KEY.format(22), "gone-host:1:abcd", timeout=60)  # a process now dead
        # 23: never registered (Redis was down at its claim): its lease alone decides.
        assert liveness.dead_claims([21, 22, 23]) == [22]


@pytest.mark.django_db
class TestHandBack:
    def test_the_tick_hands_back_the_rows_of_a_dead_process_at_once_and_no_others(self, beat):
        mailing = _running()
        ids, token = _queued(mailing, 4)
        live_rows, live_token = claim(mailing_id=mailing.pk, message_ids=ids[:2], token=token, lease=120)
        dead_rows, dead_token = claim(mailing_id=mailing.pk, message_ids=ids[2:], token=token, lease=120)
        assert len(live_rows) == len(dead_rows) == 2
        cache.set(liveness.CLAIM_KEY.format(dead_token), "gone-host:1:abcd", timeout=60)

        assert processor.hand_back_dead_claims(now=timezone.now()) == 2
        rows = dict(Message.objects.filter(id__in=ids).values_list("id", "status"))
        assert [rows[i] for i in ids] == [S.SENDING, S.SENDING, S.PENDING, S.PENDING]
        back = Message.objects.filter(id__in=ids[2:])
        assert set(back.values_list("token", "attempts", "lease_expires_at", "provider_pinned")) == {
            (None, 0, None, True)
        }
        assert "no heartbeat" in back.first().last_error
        assert Message.objects.filter(id__in=ids[:2], token=live_token).count() == 2
        assert cache.get(liveness.CLAIM_KEY.format(dead_token)) is None
