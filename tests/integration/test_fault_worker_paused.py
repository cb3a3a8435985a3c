"""A worker SIGSTOPped mid-batch long enough to be declared dead, then SIGCONTed.

Its heartbeat stops with it: the tick hands its claimed rows back within seconds (the
lease is 120 s) and the other worker sends them, while the mailing goes on. When the
paused worker comes back, its mailing still running, it finds its heartbeat expired: its
batches send none of their remaining rows and their writes, which present the claim
token, change none of the rows handed back.
The only second copies are its requests that were on the wire at the pause (the sandbox
answered them while it was stopped), as for a worker killed.
"""

import re
import signal

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
    sandbox_stats,
    sending_env,
    status_counts,
    wait_for,
)
from tests.integration.test_fault_worker_killed import open_batches, rows_held_by

CLIENTS = 8_000
LEASE = 120
CONCURRENCY = 25
BATCH = 500  # a batch takes seconds: the pause finds most of it not yet sent
HANDED_BACK_WITHIN = 15


def snapshot(ids: set[int]) -> dict[int, tuple]:
    rows = Message.objects.filter(id__in=ids)
    return {row[0]: row[1:] for row in rows.values_list("id", "status", "token", "attempts", "sent_at", "last_error")}


@pytest.mark.integration
def test_a_paused_worker_that_comes_back_neither_sends_nor_writes_the_rows_handed_back(cluster, capsys):
    url = cluster.sandbox_url
    cluster.env.update(sending_env(url, SENDING_LEASE=LEASE, SENDING_CONCURRENCY=CONCURRENCY, SENDING_BATCH_SIZE=BATCH))
    make_clients(CLIENTS)
    processing_every(1)
    cluster.sandbox("--token", "faults-token", "--latency-ms", "100")
    paused = cluster.worker("paused")
    cluster.worker("survivor", concurrency=2)
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
            HANDED_BACK_WITHIN + 10,
            "the paused worker's rows to be handed back",
            interval=0.1,
        )
        back_after = (timezone.now() - stopped_at).total_seconds()
        wait_for(
            lambda: not Message.objects.filter(id__in=held).exclude(status=S.SENT).exists(),
            60,
            "the other worker to send them",
            interval=0.2,
        )
        before = snapshot(held)
        mailing.refresh_from_db()
        running_at_resume = mailing.status == mailing.Status.RUNNING
    finally:
        paused.signal(signal.SIGCONT)
    # It ends its open batches (holding what remains) while the mailing still runs.
    wait_for(lambda: not (open_batches(paused.log_path) & tokens), 60, "the resumed worker to end its batches")
    after = snapshot(held)
    wait_for(lambda: all_done(mailing), 120, "every message to end", interval=0.5)
    log = paused.log_path.read_text(errors="replace")
    stats = sandbox_stats(url)
    counts = status_counts(mailing=mailing)
    batches = re.findall(rf"batch done .*?batch=(?:{'|'.join(map(str, tokens))}) .*?outcome=(\"[^\"]*\"|\S+)", log)
    report(
        capsys,
        "worker_paused",
        messages=CLIENTS,
        held_at_pause=len(held),
        handed_back_after_s=f"{back_after:.1f}",
        second_copies=stats["duplicates"],
        resumed_batches=" ".join(outcome.strip('"') for outcome in batches),
    )

    assert running_at_resume, "the mailing ended before the worker resumed: its batches stopped for that reason"
    assert back_after <= HANDED_BACK_WITHIN, back_after
    assert counts[S.SENT] == CLIENTS, counts
    # Back from its pause, it wrote over none of the rows handed back (all sent by the other worker).
    assert after == before
    assert re.search(r"heartbeat had expired", log), "the resumed worker never learned it was declared dead"
    # And sent none of them again: the only second copies are its requests on the wire at the pause.
    assert set(stats["duplicate_ids"]) <= held
    assert stats["duplicates"] <= CONCURRENCY, stats["duplicates"]
