"""The provider's rate in SMS parts per second on the real components: PostgreSQL, Redis, two
Celery worker processes sharing the limit, beat, and the sandbox counting what it accepts each second."""

import pytest
import requests

from mailings.models import Message
from mailings.sending.limiter import buckets_from_settings
from tests.integration.conftest import processing_every
from tests.integration.faults import (
    S,
    all_done,
    mailing_for,
    make_clients,
    sandbox_stats,
    sending_env,
    wait_for,
    wait_until_ready,
)

CLIENTS = 150
LIMIT = 50  # parts per second
TWO_PARTS = "Rate " + "r" * 200  # GSM-7: two parts


@pytest.mark.integration
def test_two_workers_hold_the_providers_rate_without_using_attempts(cluster):
    buckets = buckets_from_settings()  # the workers' Redis and key prefix: start with an empty bucket
    buckets.client.delete(f"{buckets.prefix}:limiter:default")
    url = cluster.sandbox_url
    cluster.env.update(sending_env(url, SENDING_PARTS_PER_SECOND=LIMIT, SENDING_CONCURRENCY=20, SENDING_BATCH_SIZE=25))
    make_clients(CLIENTS)
    processing_every(1)
    cluster.sandbox("--token", "faults-token")
    workers = [cluster.worker("worker1"), cluster.worker("worker2")]
    cluster.beat()
    wait_until_ready(*workers)

    mailing = mailing_for(120, TWO_PARTS)
    wait_for(lambda: all_done(mailing), 90, "every message to end")

    messages = Message.objects.filter(mailing=mailing)
    assert set(messages.values_list("status", "attempts")) == {(S.SENT, 1)}  # waiting used no attempt
    stats = sandbox_stats(url)
    assert (stats["accepted"], stats["duplicates"]) == (CLIENTS, 0)
    series = requests.get(f"{url}/stats/seconds", timeout=5).json()
    assert sum(second["parts"] for second in series) == 2 * CLIENTS
    assert max(second["parts"] for second in series) <= LIMIT * 1.1, series
    assert len(series) >= 2 * CLIENTS // LIMIT  # 300 parts at 50 a second: spread over 6 seconds at least
