"""Four worker processes and the tick run ten times at once, again and again, through one mailing.

Beside beat's own tick every second, the test fires bursts of ten ticks through the
broker (the four workers run them side by side) and ten more from threads of its
own, each with its own database connection, all the while the mailing sends. Every
step of the tick and every claim must be safe to run concurrently: each message is
claimed by one worker and sent once.
"""

import threading
import time

import pytest
from django.db import connection

from mailings.models import Mailing
from mailings.sending import processor
from mailings.tasks import process_active_mailings
from tests.integration.conftest import processing_every
from tests.integration.faults import (
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
)

CLIENTS = 20_000
WORKERS = 4
TICKS_AT_ONCE = 10


def tick_in_threads(count: int) -> list[BaseException]:
    """Run the tick from `count` threads released together; returns what they raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def tick():
        try:
            barrier.wait(5)
            processor.mailings_process()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


@pytest.mark.integration
def test_four_workers_and_ten_ticks_at_once_send_every_message_exactly_once(cluster, capsys):
    url = cluster.sandbox_url
    cluster.env.update(sending_env(url))
    make_clients(CLIENTS)
    processing_every(1)
    cluster.sandbox("--token", "faults-token", "--latency-ms", "20")
    for number in range(1, WORKERS + 1):
        cluster.worker(f"worker{number}", concurrency=1)
    cluster.beat()

    started = time.time()
    # Ten ticks at once from the start: they race to start the mailing and take its audience.
    mailing = mailing_for(600)
    bursts, errors = 0, []
    while not all_done(mailing) and time.time() - started < 180:
        for _ in range(TICKS_AT_ONCE):
            process_active_mailings.delay()
        errors += tick_in_threads(TICKS_AT_ONCE)
        bursts += 1
        time.sleep(0.3)
    wait_for(lambda: all_done(mailing), 60, "every message to end", interval=1)
    elapsed = time.time() - started
    stats = sandbox_stats(url)

    assert not errors, errors
    assert bursts >= 5  # the mailing was still sending through several bursts
    # The next tick sees nothing waiting and finishes it.
    wait_for(lambda: Mailing.objects.get(pk=mailing.pk).status == Mailing.Status.FINISHED, 10, "it to finish")
    counts = status_counts(mailing=mailing)
    assert counts[S.SENT] == CLIENTS, counts
    assert set(sandbox_accepted(url)) == set(mailing.messages.values_list("id", flat=True))
    assert duplicates_of_our_doing(stats, cluster) == []
    report(
        capsys,
        "overlapping_ticks",
        messages=CLIENTS,
        sent=counts[S.SENT],
        worker_processes=WORKERS,
        bursts=bursts,
        ticks=bursts * TICKS_AT_ONCE * 2,
        duplicates=stats["duplicates"],
        requests=stats["requests"],
        elapsed_s=round(elapsed, 1),
    )
