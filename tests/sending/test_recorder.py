"""The recorder: a batch's outcomes written under its claim token, the sent ones as they come."""

import pytest
from django.utils import timezone

from mailings import services
from mailings.models import Message
from mailings.sending.batch import claim
from mailings.sending.recorder import record
from tests.sending.support import _queued, _running, _send

S = Message.Status


@pytest.mark.django_db(transaction=True)
class TestRecord:
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
