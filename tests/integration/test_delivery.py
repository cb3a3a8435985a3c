"""The delivery promise on the real components: PostgreSQL, Redis, two Celery workers, beat, and
a sandbox provider with 20% errors, 5% timeouts, 5% garbage and a 10 s outage."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from mailings import selectors, services
from mailings.models import Client, Mailing, Message
from tests.integration.conftest import processing_every
from tests.integration.faults import (
    CIRCUIT_OPENED,
    accepted_count,
    duplicates_of_our_doing,
    sandbox_accepted,
    sandbox_stats,
    sending_env,
    wait_for,
    wait_until_ready,
)

S = Message.Status
CLIENTS = 5000


def _make_clients() -> None:
    tags = ["future"] * 500 + ["paused"] * 300 + ["main"] * (CLIENTS - 800)
    Client.objects.bulk_create(
        Client(phone_number=f"7900{i:07d}", operator_code="900", tag=tag, timezone="Europe/Moscow")
        for i, tag in enumerate(tags)
    )


@pytest.mark.integration
@pytest.mark.expected_log_errors(CIRCUIT_OPENED)  # errors in a row and the outage open the circuit
def test_every_message_ends_once_on_time_through_a_flaky_provider(cluster, api):
    sandbox_url = cluster.sandbox_url
    # A queue of two batches: a tick may queue a whole share for the first mailing it finds running
    # before another tick has started the rest; a short queue drains in seconds even on a loaded
    # machine, and then the mailings take turns (a full queue of 2,000 took 13 s here under load,
    # longer than the short mailing has before the outage).
    cluster.env.update(
        sending_env(
            sandbox_url,
            SENDING_API_TOKEN="integration-token",
            SENDING_CONCURRENCY=20,
            SENDING_QUEUE_GRACE=20,
            SENDING_MAX_QUEUED=400,
        )
    )
    _make_clients()
    processing_every(1)
    workers = [cluster.worker("worker1"), cluster.worker("worker2")]
    cluster.beat()
    wait_until_ready(*workers)
    sandbox = cluster.sandbox(
        "--token", "integration-token", "--latency-ms", "50",
        "--error-rate", "0.2", "--timeout-rate", "0.05", "--garbage-rate", "0.05", "--hang-seconds", "3",
        "--down-after", "6", "--down-for", "10",
    )  # fmt: skip

    now = timezone.now()
    everyone = services.mailing_create(
        start_datetime=now, end_datetime=now + timedelta(seconds=120), message_text="To everyone"
    )
    short = services.mailing_create(
        start_datetime=now, end_datetime=now + timedelta(seconds=10), message_text="Ends soon", filter_tag="main"
    )
    paused = services.mailing_create(
        start_datetime=now, end_datetime=now + timedelta(seconds=120), message_text="Paused", filter_tag="paused"
    )
    future = services.mailing_create(
        start_datetime=now + timedelta(seconds=25),
        end_datetime=now + timedelta(seconds=120),
        message_text="Later",
        filter_tag="future",
    )

    # A running mailing paused: nothing of it goes out until it is resumed.
    wait_for(lambda: Mailing.objects.get(pk=paused.pk).status == Mailing.Status.RUNNING, 15, "the paused one to start")
    services.mailing_pause(mailing=paused)
    paused_at = time.time()

    # During the outage the API answers, and says the provider is held: it waits on no provider.
    wait_for(lambda: accepted_count(sandbox_url) == -1, 30, "the outage")
    assert api.get("/clients/?page_size=10").status_code == 200
    assert api.get(f"/mailings/{everyone.pk}/statistics/").status_code == 200
    assert accepted_count(sandbox_url) == -1, "the outage ended before the API answered"
    wait_for(
        lambda: api.get("/activate_mailing/").json()["provider"]["state"] in ("open", "probing"),
        10,
        "the circuit to open during the outage",
    )

    # The future mailing starts by itself, on the first tick after its start.
    assert Mailing.objects.get(pk=future.pk).status == Mailing.Status.SCHEDULED
    wait_for(lambda: Mailing.objects.get(pk=future.pk).status == Mailing.Status.RUNNING, 40, "the future one to start")

    resumed_at = time.time()
    services.mailing_resume(mailing=paused)

    wait_for(
        lambda: not Mailing.objects.exclude(status=Mailing.Status.FINISHED).exists(),
        150,
        "every mailing to finish",
        interval=1,
    )
    assert sandbox.alive()
    accepted = sandbox_accepted(sandbox_url)
    stats = sandbox_stats(sandbox_url)

    # Nothing lost: every message ended sent, failed with a reason, or expired.
    by_status = dict.fromkeys(S.values, 0)
    for status in Message.objects.values_list("status", flat=True):
        by_status[status] += 1
    assert by_status[S.PENDING] == by_status[S.SENDING] == by_status[S.CANCELLED] == 0, by_status
    assert Message.objects.count() == CLIENTS + (CLIENTS - 800) + 300 + 500
    assert not Message.objects.filter(status=S.FAILED, last_error="").exists()
    assert by_status[S.EXPIRED] > 0  # the short mailing could not reach everyone in 10 s

    # Nothing sent twice, and what the provider accepted is exactly what we recorded as sent.
    assert duplicates_of_our_doing(stats, cluster) == []
    assert set(accepted) == set(Message.objects.filter(status=S.SENT).values_list("id", flat=True))

    # Nothing accepted after its mailing's end, nor before its start.
    for mailing in (everyone, short, paused, future):
        mailing.refresh_from_db()
        times = [accepted[i] for i in mailing.messages.filter(status=S.SENT).values_list("id", flat=True)]
        assert times, f"mailing {mailing.pk} sent nothing"
        assert max(times) <= mailing.end_datetime.timestamp()
        assert min(times) >= mailing.start_datetime.timestamp()

    # The paused mailing: nothing accepted between the pause (plus in-flight requests) and the resume.
    paused_times = [accepted[i] for i in paused.messages.filter(status=S.SENT).values_list("id", flat=True)]
    assert not [t for t in paused_times if paused_at + 1.5 < t < resumed_at]
    assert paused.messages.filter(status=S.SENT).count() == 300

    # The statistics, kept by triggers through all of it, equal a count of the messages.
    for mailing in (everyone, short, paused, future):
        counts = selectors.mailing_message_counts(mailing=mailing)
        truth = dict.fromkeys(S.values, 0)
        for status in mailing.messages.values_list("status", flat=True):
            truth[status] += 1
        assert counts == truth

    # The outage held messages instead of burning their attempts.
    assert stats["outcomes"].get("down", 0) + stats["outcomes"].get("error", 0) > 0
    assert not Message.objects.filter(status=S.FAILED).exists()
