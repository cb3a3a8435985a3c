"""The provider down (connections refused) far longer than the retry budget would last.

Three attempts with backoffs under a second would fail every message within a
couple of seconds of the outage's start; the outage lasts 25 s. The circuit
breaker must hold the messages instead, without using their attempts, and let
them all go when the provider is back, provided their mailing has not ended: the
messages of a mailing that ends during the outage expire, they do not fail.
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from mailings.models import Client
from mailings.sending.circuit import circuit_state
from tests.integration.conftest import processing_every
from tests.integration.faults import (
    CIRCUIT_OPENED,
    S,
    all_done,
    duplicates_of_our_doing,
    mailing_for,
    make_clients,
    report,
    sandbox_accepted,
    sandbox_stats,
    sending_env,
    status_counts,
    wait_for,
    wait_until_ready,
)

CLIENTS = 10_000
SHORT = 2_000  # clients of the mailing that ends during the outage
DOWN_AFTER = 4
DOWN_FOR = 25
MAX_ATTEMPTS = 3
BACKOFF_CAP = 0.5


@pytest.mark.integration
@pytest.mark.expected_log_errors(CIRCUIT_OPENED)
def test_an_outage_longer_than_the_retry_budget_holds_messages_instead_of_failing_them(cluster, capsys):
    url = cluster.sandbox_url
    cluster.env.update(
        sending_env(
            url,
            SENDING_MAX_ATTEMPTS=MAX_ATTEMPTS,
            SENDING_BACKOFF_BASE=0.2,
            SENDING_BACKOFF_CAP=BACKOFF_CAP,
            SENDING_CIRCUIT_THRESHOLD=5,
        )
    )
    make_clients(CLIENTS, tag="long")
    Client.objects.filter(phone_number__lt=f"7900{SHORT:07d}").update(tag="short")
    processing_every(1)
    workers = cluster.worker("worker1", concurrency=2), cluster.worker("worker2", concurrency=2)
    cluster.beat()
    wait_until_ready(*workers)  # the workers start before the provider's clock does

    cluster.sandbox(
        "--token", "faults-token", "--latency-ms", "50", "--down-after", str(DOWN_AFTER),
        "--down-for", str(DOWN_FOR),
    )  # fmt: skip
    down_at = time.time() + DOWN_AFTER
    up_at = down_at + DOWN_FOR
    started = time.time()
    long = mailing_for(300, "Outlasts the outage", filter_tag="long")
    # Starts a second before the outage (it has no time to send all it has) and ends during it.
    short_start = timezone.now() + timedelta(seconds=DOWN_AFTER - 1)
    short = mailing_for(9, "Ends during the outage", start=short_start, filter_tag="short")

    wait_for(lambda: time.time() > down_at + 2 and circuit_state() is not None, 30, "the circuit to open")
    opened = circuit_state()
    wait_for(lambda: time.time() > up_at, DOWN_FOR + 10, "the outage to end", interval=1)
    wait_for(lambda: all_done(long) and all_done(short), 180, "every message to end", interval=1)
    elapsed = time.time() - started
    stats = sandbox_stats(url)
    accepted = sandbox_accepted(url)

    # Held, not failed: the outage used up nobody's attempts.
    assert stats["outcomes"].get("down", 0) > 0, stats
    long_counts, short_counts = status_counts(mailing=long), status_counts(mailing=short)
    assert long_counts[S.FAILED] == short_counts[S.FAILED] == 0, (long_counts, short_counts)
    # Everything of the mailing that outlasted the outage went out once it was over.
    assert long_counts[S.SENT] == CLIENTS - SHORT, long_counts
    # The one that ended meanwhile: what had not gone expired, nothing was accepted after its end.
    assert short_counts[S.SENT] + short_counts[S.EXPIRED] == SHORT, short_counts
    assert short_counts[S.EXPIRED] > 0, short_counts
    short_sent = [accepted[i] for i in short.messages.filter(status=S.SENT).values_list("id", flat=True)]
    assert max(short_sent, default=0) <= short.end_datetime.timestamp()
    assert duplicates_of_our_doing(stats, cluster) == []
    assert set(accepted) == set(long.messages.filter(status=S.SENT).values_list("id", flat=True)) | set(
        short.messages.filter(status=S.SENT).values_list("id", flat=True)
    )

    after = sorted(t for t in accepted.values() if t > up_at)
    report(
        capsys,
        "provider_down",
        messages=CLIENTS,
        outage_s=DOWN_FOR,
        retry_budget=f"{MAX_ATTEMPTS}x<={BACKOFF_CAP}s",
        sent_before_outage=sum(t < down_at for t in accepted.values()),
        refused_requests=stats["outcomes"].get("down", 0),
        failed=long_counts[S.FAILED] + short_counts[S.FAILED],
        most_attempts_used=max(long.messages.values_list("attempts", flat=True)),
        expired_in_ended_mailing=short_counts[S.EXPIRED],
        circuit_reason=repr(opened["reason"][:60]),
        first_sent_after_return_s=round(after[0] - up_at, 1) if after else None,
        all_sent_after_return_s=round(after[-1] - up_at, 1) if after else None,
        duplicates=stats["duplicates"],
        elapsed_s=round(elapsed, 1),
    )
