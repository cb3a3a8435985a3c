"""Retrying failed messages on the real components: PostgreSQL, Redis, a Celery worker, beat and
the sandbox provider refusing a third of the messages (400, a permanent refusal) the first time.

The mailing finishes with those failed; `POST /mailings/<id>/retry-failed/` puts them back, the
mailing runs again, and each is sent exactly once more: the sandbox never gets a second request
for a message it accepted."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mailings import services
from mailings.models import Mailing, Message
from tests.integration.conftest import processing_every
from tests.integration.faults import (
    S,
    all_done,
    make_clients,
    sandbox_received,
    sandbox_stats,
    sending_env,
    status_counts,
    wait_for,
    wait_until_ready,
)

CLIENTS = 300
EVERY = 3  # msgIds that are multiples of it are refused the first time


@pytest.mark.integration
def test_retry_failed_sends_each_failed_message_once_more_and_nothing_else(cluster, api):
    cluster.env.update(sending_env(cluster.sandbox_url, SENDING_API_TOKEN="retry-token"))
    make_clients(CLIENTS)
    processing_every(1)
    worker = cluster.worker("worker1", concurrency=2)
    cluster.beat()
    wait_until_ready(worker)
    cluster.sandbox("--token", "retry-token", "--refuse-first-every", str(EVERY))

    now = timezone.now()
    mailing = services.mailing_create(
        start_datetime=now, end_datetime=now + timedelta(minutes=5), message_text="Retry me"
    )
    wait_for(lambda: Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.FINISHED, 90, "the first round")
    refused = {pk for pk in mailing.messages.values_list("pk", flat=True) if pk % EVERY == 0}
    failed = set(mailing.messages.filter(status=S.FAILED).values_list("pk", flat=True))
    assert refused
    assert failed == refused, (len(failed), len(refused))
    assert status_counts(mailing=mailing)[S.SENT] == CLIENTS - len(refused)
    first_round = sandbox_stats(cluster.sandbox_url)
    assert first_round["requests"] == CLIENTS

    response = api.post(f"/mailings/{mailing.pk}/retry-failed/")
    assert response.status_code == 200, response.content
    assert response.json() == {"retried": len(refused)}

    wait_for(lambda: all_done(mailing) and Mailing.objects.get(pk=mailing.pk).status == "finished", 90, "the retry")
    assert status_counts(mailing=mailing)[S.SENT] == CLIENTS
    stats = sandbox_stats(cluster.sandbox_url)
    # Each failed message exactly once more, and not one request for a message already accepted.
    assert stats["requests"] == CLIENTS + len(refused), stats
    assert stats["accepted"] == CLIENTS
    assert stats["duplicates"] == 0, stats["duplicate_ids"]
    assert stats["outcomes"]["refused"] == len(refused)
    assert len(sandbox_received(cluster.sandbox_url)["Retry me"]) == CLIENTS + len(refused)
    assert Message.objects.filter(mailing=mailing, attempts__gt=1).count() == 0
