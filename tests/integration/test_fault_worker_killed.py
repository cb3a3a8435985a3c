"""A worker SIGKILLed (its whole process group) three times in the middle of a 20,000-client mailing.

Two workers of two processes each send through a sandbox with 100 ms latency, so
that messages are always in flight. Each kill takes out one worker with no warning:
the rows it had claimed stay `sending` until their lease runs out, then the tick
takes them back and they go again with the same msgId. The sandbox, like a real
server, drops a request whose client died before the answer; what it had already
accepted but the dead worker had not yet recorded is accepted a second time.
"""

import re
import time
from datetime import timedelta
from pathlib import Path

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
    sandbox_accepted,
    sandbox_stats,
    sending_env,
    status_counts,
    wait_for,
)

CLIENTS = 20_000
LEASE = 10
PROCESSES = 2  # per worker
CONCURRENCY = 25  # requests in flight per process
BATCH = 200  # messages a process claims at once (all `sending` until sent or recorded)
KILL_AT_ACCEPTED = (3_000, 8_000, 13_000)


def open_batches(log_path: Path) -> set[int]:
    """The claim tokens of the batches a worker's log shows claimed and not done."""
    log = log_path.read_text(errors="replace")
    claimed, done = (set(map(int, re.findall(rf"batch {what} .*\bbatch=(\d+)", log))) for what in ("claimed", "done"))
    return claimed - done


def rows_held_by(worker) -> set[int]:
    """The rows still `sending` under the batches the worker's log shows claimed and not done."""
    tokens = open_batches(worker.log_path)
    return set(Message.objects.filter(status=S.SENDING, token__in=tokens).values_list("id", flat=True))


@pytest.mark.integration
def test_a_worker_killed_three_times_loses_nothing_and_resends_only_what_it_held(cluster, capsys):
    url = cluster.sandbox_url
    cluster.env.update(sending_env(url, SENDING_LEASE=LEASE, SENDING_CONCURRENCY=CONCURRENCY, SENDING_BATCH_SIZE=BATCH))
    make_clients(CLIENTS)
    processing_every(1)
    cluster.sandbox("--token", "faults-token", "--latency-ms", "100")
    victim = cluster.worker("victim", concurrency=PROCESSES)
    cluster.worker("survivor", concurrency=PROCESSES)
    cluster.beat()

    started = time.time()
    mailing = mailing_for(600)
    kills = []
    for number, threshold in enumerate(KILL_AT_ACCEPTED, start=1):
        # The kill waits for the victim to hold a batch with work left (a restarted worker takes
        # seconds to boot on a busy machine, and the survivor alone may pass the threshold meanwhile).
        wait_for(
            lambda threshold=threshold, victim=victim: (
                accepted_count(url) >= threshold and len(rows_held_by(victim)) >= 2 * CONCURRENCY
            ),
            120,
            f"{threshold} messages accepted, the victim holding a batch",
        )
        victim.kill()
        killed_at = timezone.now()
        # What the dead worker had claimed and not recorded: its open batches' rows, still `sending`.
        victims = rows_held_by(victim)
        assert victims, f"kill {number}: the victim held no claimed rows, the kill tested nothing"
        # Everything the dead worker held is still `sending` (nobody touches it until the lease runs
        # out) and was claimed before the kill; rows the survivor claimed before it are included too,
        # so this is an upper bound on what the dead worker had claimed and not yet recorded.
        held = set(
            Message.objects.filter(
                status=S.SENDING, lease_expires_at__lte=killed_at + timedelta(seconds=LEASE)
            ).values_list("id", flat=True)
        )
        assert victims <= held
        victim = cluster.worker(f"victim-restart{number}", concurrency=PROCESSES)
        # Its lease runs out and the tick hands them back: they wait again, with the same msgIds.
        wait_for(
            lambda held=held: not Message.objects.filter(id__in=held, status=S.SENDING).exists(),
            LEASE + 20,
            "the dead worker's messages to be taken back",
        )
        kills.append(
            {
                "at": killed_at,
                "held": held,
                "victims": victims,
                "back_after": (timezone.now() - killed_at).total_seconds(),
            }
        )

    wait_for(lambda: all_done(mailing), 240, "every message to end", interval=1)
    elapsed = time.time() - started
    stats = sandbox_stats(url)
    accepted = sandbox_accepted(url)

    # Nothing lost, nothing stuck: the provider never refused, so every message is sent.
    counts = status_counts(mailing=mailing)
    assert counts[S.PENDING] == counts[S.SENDING] == 0, counts
    assert counts[S.SENT] == CLIENTS, counts
    assert set(accepted) == set(mailing.messages.values_list("id", flat=True))

    # Every duplicate is a message the dead worker held at a kill, and there are no more of them
    # than it had in flight: each of its processes runs one batch with at most CONCURRENCY requests
    # out, and a request keeps its slot until its `sent` is recorded, so sent-but-unrecorded
    # never exceeds PROCESSES * CONCURRENCY (the rows still `sending` bound it too).
    held_at_kills = set().union(*(kill["held"] for kill in kills))
    duplicate_ids = set(stats["duplicate_ids"])
    assert duplicate_ids <= held_at_kills, duplicate_ids - held_at_kills
    bound = sum(min(len(kill["held"]), PROCESSES * CONCURRENCY) for kill in kills)
    assert stats["duplicates"] <= bound, (stats["duplicates"], bound)

    # Nothing waited for a dead worker longer than its lease, plus a tick or two.
    assert max(kill["back_after"] for kill in kills) < LEASE + 5
    report(
        capsys,
        "worker_killed",
        messages=CLIENTS,
        sent=counts[S.SENT],
        kills=len(kills),
        held_at_kills="/".join(str(len(kill["held"])) for kill in kills),
        victim_held_at_kills="/".join(str(len(kill["victims"])) for kill in kills),
        duplicates=stats["duplicates"],
        bound=bound,
        in_flight_bound_per_kill=PROCESSES * CONCURRENCY,
        taken_back_after_s="/".join(f"{kill['back_after']:.1f}" for kill in kills),
        lease_s=LEASE,
        elapsed_s=round(elapsed, 1),
    )
