"""Every connection to the database cut (`pg_terminate_backend`) several times in the middle of a mailing.

Workers, their batch threads and beat all lose their connections at once, in the
middle of claims, mailing reads and the bulk writes of results. Nobody is restarted:
each process must open a new connection and carry on, and a batch whose results
could not be written must write them once the database answers again, rather than
leave sent messages to be sent a second time.
"""

import time

import pytest
from django.db import connection

from tests.integration.conftest import processing_every
from tests.integration.faults import (
    S,
    accepted_count,
    all_done,
    duplicates_of_our_doing,
    mailing_for,
    make_clients,
    process_ids,
    report,
    sandbox_accepted,
    sandbox_stats,
    sending_env,
    status_counts,
    wait_for,
    wait_until_ready,
)

CLIENTS = 10_000
HICCUPS = 4
# What psycopg says when its connection is cut, as the tests have seen it.
CUT = (
    r"OperationalError\('(terminating connection due to administrator command|consuming input failed: server "
    r"closed the connection unexpectedly|the connection is lost)"
)


def terminate_other_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


# 0: a connection per request or task; 60: production's default, where a worker keeps its
# connection between tasks and finds it dead only when it next uses it.
@pytest.mark.integration
@pytest.mark.parametrize("conn_max_age", ["0", "60"])
@pytest.mark.expected_log_errors(
    # A tick or a batch cut mid-way raises (the next tick does the tick's work; a batch's claimed rows go
    # again when their lease runs out, its unclaimed ones after the queue grace), and beat says its read failed.
    r"ERROR celery\.app\.trace Task mailings\.tasks\.(process_active_mailings|send_batch)\[[\w-]+\] raised unexpected: "
    + CUT,
    r"ERROR django_celery_beat\.schedulers Database gave error: " + CUT,
)
def test_workers_recover_without_a_restart_when_their_database_connections_are_killed(cluster, capsys, conn_max_age):
    url = cluster.sandbox_url
    cluster.env.update(sending_env(url), CONN_MAX_AGE=conn_max_age)
    make_clients(CLIENTS)
    processing_every(1)
    cluster.sandbox("--token", "faults-token", "--latency-ms", "50")
    workers = [cluster.worker("worker1", concurrency=2), cluster.worker("worker2", concurrency=2)]
    beat = cluster.beat()
    wait_until_ready(*workers)  # their pools started: the processes whose ids must not change
    processes = process_ids(*workers, beat)

    started = time.time()
    mailing = mailing_for(600)
    wait_for(lambda: accepted_count(url) >= 1_000, 120, "sending to be under way")
    terminated = []
    for _ in range(HICCUPS):
        before = accepted_count(url)
        terminated.append(terminate_other_connections())
        # The next cut once sending has gone on after this one: each lands in the middle of work.
        wait_for(lambda b=before: accepted_count(url) >= min(b + 500, CLIENTS), 60, "sending to go on after a cut")
    last_hiccup = time.time()
    at_last = accepted_count(url)
    wait_for(lambda: accepted_count(url) >= min(at_last + 500, CLIENTS), 60, "sending to go on")
    went_on = time.time()

    wait_for(lambda: all_done(mailing), 180, "every message to end", interval=1)
    elapsed = time.time() - started
    stats = sandbox_stats(url)

    # Nobody restarted: the same workers, pool children and beat, none of them exited.
    assert process_ids(*workers, beat) == processes, "a process died instead of reconnecting"
    assert sum(terminated) > 0
    counts = status_counts(mailing=mailing)
    assert counts[S.SENT] == CLIENTS, counts
    assert set(sandbox_accepted(url)) == set(mailing.messages.values_list("id", flat=True))
    assert duplicates_of_our_doing(stats, cluster) == []
    report(
        capsys,
        "database_hiccup",
        messages=CLIENTS,
        sent=counts[S.SENT],
        hiccups=HICCUPS,
        connections_killed="/".join(map(str, terminated)),
        duplicates=stats["duplicates"],
        sending_went_on_within_s=round(went_on - last_hiccup, 1),
        elapsed_s=round(elapsed, 1),
    )
