"""A batch on a real database and a real sandbox provider: claimed by its token, sent, recorded."""

import pytest
from django.utils import timezone

from mailings import services
from mailings.models import Message
from mailings.sending.batch import claim
from tests.factories import MessageFactory
from tests.sending.support import _queued, _running, _send

S = Message.Status


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
