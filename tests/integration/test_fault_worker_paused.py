"""A worker SIGSTOPped mid-batch long enough to be declared dead, then SIGCONTed.

Its heartbeat stops with it: the tick hands its claimed rows back within seconds (the
lease is 120 s), the other worker sends them and the mailing ends. When the paused worker
comes back it finds its heartbeat expired: its batches send none of their remaining rows
and their writes, which present the claim token, change none of the rows handed back.
The only second copies are its requests that were on the wire at the pause (the sandbox
answered them while it was stopped), as for a worker killed.
"""

import re
import signal
import time

import pytest
from django.utils import timezone

from mailings.models import Message
from tests.integration.conftest import processing_every
from tests.integration.faults import (
    S,
    accepted_count,
    all_done,
    mailing_for,
    make_clients,
    report,
    sandbox_received,
    sandbox_stats,
    sending_env,
    status_counts,
    wait_for,
)
from tests.integration.test_fault_worker_killed import open_batches, rows_held_by

CLIENTS = 4_000
LEASE = 120
CONCURRENCY = 25
BATCH = 500  # a batch takes seconds: the pause finds most of it not yet sent
HANDED_BACK_WITHIN = 15


def requests_received(url: str) -> int:
    return sum(len(times) for times in sandbox_received(url).values())


def snapshot(mailing) -> dict[int, tuple]:
    return {
        row[0]: row[1:]
        for row in mailing.messages.values_list("id", "status", "token", "attempts", "sent_at", "last_error")
    }


@pytest.mark.integration
def test_a_paused_worker_that_comes_back_neither_sends_nor_writes_the_rows_handed_back(cluster, capsys):
    url = cluster.sandbox_url
    cluster.env.update(sending_env(url, SENDING_LEASE=LEASE, SENDING_CONCURRENCY=CONCURRENCY, SENDING_BATCH_SIZE=BATCH))
    make_clients(CLIENTS)
    processing_every(1)
    cluster.sandbox("--token", "faults-token", "--latency-ms", "100")
    paused = cluster.worker("paused")
    cluster.worker("survivor")
    cluster.beat()

    mailing = mailing_for(600)
    wait_for(
        lambda: accepted_count(url) >= 500 and len(rows_held_by(paused)) >= 4 * CONCURRENCY,
        120,
        "the worker to be mid-batch",
    )
    paused.signal(signal.SIGSTOP)
    stopped_at = timezone.now()
    tokens = open_batches(paused.log_path)
    held = rows_held_by(paused)
    try:
        wait_for(
            lambda: not Message.objects.filter(id__in=held, status=S.SENDING).exists(),
            LEASE / 2,
            "the paused worker's rows to be handed back",
            interval=0.1,
        )
        back_after = (timezone.now() - stopped_at).total_seconds()
        wait_for(lambda: all_done(mailing), 120, "the other worker to send everything", interval=0.5)
        before = snapshot(mailing)
        received = requests_received(url)
    finally:
        paused.signal(signal.SIGCONT)
    # It finishes its open batches (holding what remains) and says why.
    wait_for(
        lambda: not (open_batches(paused.log_path) & tokens),
        60,
        "the resumed worker to end its batches",
    )
    time.sleep(1)  # anything it might still write or send after its batches' end
    log = paused.log_path.read_text(errors="replace")
    stats = sandbox_stats(url)
    counts = status_counts(mailing=mailing)
    report(
        capsys,
        "worker_paused",
        messages=CLIENTS,
        held_at_pause=len(held),
        handed_back_after_s=f"{back_after:.1f}",
        requests_after_resume=requests_received(url) - received,
        second_copies=stats["duplicates"],
        resumed_batches=" ".join(
            re.findall(rf"batch done .*?batch=(?:{'|'.join(map(str, tokens))}) .*?outcome=(\S+)", log)
        ),
    )

    assert back_after <= HANDED_BACK_WITHIN, back_after
    assert counts[S.SENT] == CLIENTS, counts
    # Back from its pause, it sent nothing more and wrote over nothing.
    assert requests_received(url) == received
    assert snapshot(mailing) == before
    assert re.search(r"heartbeat had expired", log), "the resumed worker never learned it was declared dead"
    # Second copies: only its requests on the wire at the pause.
    assert set(stats["duplicate_ids"]) <= held
    assert stats["duplicates"] <= CONCURRENCY, stats["duplicates"]
