"""Redis, the broker and the cache, killed and started again in the middle of a mailing.

The test runs a Redis of its own, without persistence, so that the restart loses
everything: the queued batches, the tasks the workers had taken but not acknowledged,
the circuit state and the dispatch lock. Workers and beat must
reconnect by themselves, and the batches lost with the queue must go out again
(their rows are queued again when their grace runs out).

That Redis listens on a Unix socket in the test's directory, not on a TCP port: a restart must find
its address free again, and a port let go for the outage could be taken meanwhile by any process
on the machine (a Redis cannot be handed a bound socket, nor bind port 0 and say which it got).
"""

import time

import pytest
from redis import Redis, RedisError

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
GRACE = 10
DOWN_SECONDS = 3


def redis_answers(path) -> bool:
    try:
        return Redis(unix_socket_path=str(path), socket_connect_timeout=1).ping()
    except (RedisError, OSError):
        return False


@pytest.mark.integration
@pytest.mark.expected_log_errors(
    # While Redis is down: the workers' consumers retry, beat cannot queue its tick, and a task
    # that reaches Redis (a batch's top-up dispatch, for its lock) raises on the refused connection.
    r"ERROR celery\.worker\.consumer\.consumer consumer: Cannot connect to redis(\+socket)?://",
    r"ERROR celery\.beat Message Error: Couldn't apply scheduled task Process active mailings: Error \d+ connecting",
    r"ERROR celery\.app\.trace Task mailings\.tasks\.\w+\[[\w-]+\] raised unexpected: network:ConnectionError.*"
    r"redis\.exceptions\.ConnectionError: Error \d+ connecting",
)
def test_sending_resumes_by_itself_after_the_broker_restarts_and_nothing_is_lost(cluster, tmp_path, capsys):
    url = cluster.sandbox_url
    redis_socket = tmp_path / "redis.sock"
    cluster.env.update(
        sending_env(url, SENDING_QUEUE_GRACE=GRACE),
        REDIS_URL=f"unix://{redis_socket}?db=0",
        CELERY_BROKER_URL=f"redis+socket://{redis_socket}?virtual_host=0",
        CACHE_URL=f"rediscache://{redis_socket}?db=1",
    )
    redis_args = [
        "redis-server", "--port", "0", "--unixsocket", str(redis_socket), "--unixsocketperm", "700",
        "--save", "", "--appendonly", "no", "--dir", str(tmp_path),
    ]  # fmt: skip
    redis = cluster.start("redis", redis_args)
    wait_for(lambda: redis_answers(redis_socket), 15, "Redis to answer")
    make_clients(CLIENTS)
    processing_every(1)
    cluster.sandbox("--token", "faults-token", "--latency-ms", "50")
    workers = cluster.worker("worker1", concurrency=2), cluster.worker("worker2", concurrency=2)
    beat = cluster.beat()
    wait_until_ready(*workers)  # their pools started: the processes whose ids must not change
    processes = process_ids(*workers, beat)

    started = time.time()
    mailing = mailing_for(600)
    wait_for(lambda: accepted_count(url) >= 2_000, 120, "sending to be under way")
    redis.kill()
    killed = time.time()
    time.sleep(DOWN_SECONDS)  # the outage itself, not a wait for something to be ready
    cluster.start("redis-restarted", redis_args)
    wait_for(lambda: redis_answers(redis_socket), 15, "Redis to answer again")
    restarted = time.time()
    # In-flight batches finish meanwhile; resuming means batches claimed after the restart.
    at_restart = accepted_count(url)
    wait_for(lambda: accepted_count(url) >= at_restart + 1_000, 120, "sending to resume after the restart")
    resumed = time.time()

    wait_for(lambda: all_done(mailing), 180, "every message to end", interval=1)
    elapsed = time.time() - started
    stats = sandbox_stats(url)

    counts = status_counts(mailing=mailing)
    assert counts[S.SENT] == CLIENTS, counts
    assert set(sandbox_accepted(url)) == set(mailing.messages.values_list("id", flat=True))
    assert duplicates_of_our_doing(stats, cluster) == []
    # No process was restarted: the same workers, pool children and beat, none of them exited.
    assert process_ids(*workers, beat) == processes
    report(
        capsys,
        "broker_restart",
        messages=CLIENTS,
        sent=counts[S.SENT],
        accepted_at_restart=at_restart,
        duplicates=stats["duplicates"],
        redis_down_s=round(restarted - killed, 1),
        resumed_after_restart_s=round(resumed - restarted, 1),
        queue_grace_s=GRACE,
        elapsed_s=round(elapsed, 1),
    )
