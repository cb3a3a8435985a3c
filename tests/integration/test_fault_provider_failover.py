"""Two providers on one route; the heavier one (A, `default`) goes down in the middle of a mailing.

Two sandboxes, one per provider, real workers and beat. The default route gives A 70 and B 30.
A refuses connections for a while: its circuit opens, and the messages A never received go to
B, while a message whose request may have reached A (the connection dropped with the request in
flight) stays with A and goes once A is back. Every message is accepted by exactly one sandbox,
once, and its row names that sandbox's provider. When A is back, a second mailing's messages
follow the weights again: each goes to its weighted pick (but for those that fail over while
its first message probes A).
"""

import time

import pytest

from mailings.models import Client, Message, Route
from mailings.routing import RouteTable, ranked
from mailings.sending.circuit import Mode, circuit_mode, circuit_state
from tests.integration.conftest import processing_every
from tests.integration.faults import (
    CIRCUIT_OPENED,
    S,
    all_done,
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

FIRST = 6_000  # clients of the mailing the outage interrupts (B alone sends what is left before A is back)
SECOND = 3_000  # clients of the mailing sent once A is back
DOWN_AFTER = 4
DOWN_FOR = 20
WEIGHTS = {"default": 70, "b": 30}
TOKEN_B = "faults-token-b"
BATCH = 200  # sending_env's SENDING_BATCH_SIZE


@pytest.mark.integration
@pytest.mark.expected_log_errors(CIRCUIT_OPENED)
def test_a_provider_down_fails_its_messages_over_and_routing_returns_to_the_weights(cluster, capsys):
    url_a, url_b = cluster.sandbox_url_of("sandbox-a"), cluster.sandbox_url_of("sandbox-b")
    cluster.env.update(
        sending_env(
            url_a,
            SENDING_PROVIDERS="b",
            SENDING_PROVIDER_B_URL=url_b,
            SENDING_PROVIDER_B_TOKEN=TOKEN_B,
            SENDING_CIRCUIT_THRESHOLD=5,
        )
    )
    for provider, weight in WEIGHTS.items():
        Route.objects.create(provider=provider, weight=weight)  # the default route
    make_clients(FIRST, tag="first")
    Client.objects.bulk_create(
        Client(phone_number=f"7901{i:07d}", operator_code="901", tag="second", timezone="Europe/Moscow")
        for i in range(SECOND)
    )
    processing_every(1)
    workers = cluster.worker("worker1", concurrency=2), cluster.worker("worker2", concurrency=2)
    cluster.beat()
    wait_until_ready(*workers)

    cluster.sandbox("--token", TOKEN_B, "--latency-ms", "100", name="sandbox-b")
    cluster.sandbox(
        "--token", "faults-token", "--latency-ms", "100", "--down-after", str(DOWN_AFTER), "--down-for", str(DOWN_FOR),
        name="sandbox-a",
    )  # fmt: skip
    down_at = time.time() + DOWN_AFTER
    up_at = down_at + DOWN_FOR
    first = mailing_for(300, "Interrupted by A's outage", filter_tag="first")

    wait_for(lambda: time.time() > down_at + 1 and circuit_state("default") is not None, 30, "A's circuit to open")
    wait_for(lambda: time.time() > up_at, DOWN_FOR + 10, "A's outage to end", interval=1)
    wait_for(lambda: all_done(first), 180, "the first mailing to end", interval=1)
    # A's cool-down over: with no message left for it, it stays "probing" until one comes.
    wait_for(lambda: circuit_mode(circuit_state("default")) is not Mode.OPEN, 60, "A's cool-down to end")
    second = mailing_for(300, "After A is back", filter_tag="second")
    wait_for(lambda: all_done(second), 180, "the second mailing to end", interval=1)

    stats_a, stats_b = sandbox_stats(url_a), sandbox_stats(url_b)
    accepted_a, accepted_b = sandbox_accepted(url_a), sandbox_accepted(url_b)
    sent = dict(Message.objects.filter(status=S.SENT).values_list("id", "provider"))

    # Every message sent, once, by one provider, and its row says which.
    assert status_counts(mailing=first)[S.SENT] == FIRST, status_counts(mailing=first)
    assert status_counts(mailing=second)[S.SENT] == SECOND, status_counts(mailing=second)
    assert set(accepted_a) & set(accepted_b) == set()
    assert stats_a["duplicates"] == stats_b["duplicates"] == 0, (stats_a, stats_b)
    assert set(accepted_a) | set(accepted_b) == set(sent)
    assert {i for i, p in sent.items() if p == "default"} == set(accepted_a)
    assert {i for i, p in sent.items() if p == "b"} == set(accepted_b)
    # The requests A's outage cut mid-request (their connection dropped): pinned to A, sent there.
    pinned = set(Message.objects.filter(provider_pinned=True).values_list("provider", flat=True))
    assert pinned == {"default"}, pinned
    # A accepted nothing while it was down; B took A's share meanwhile.
    assert not [t for t in accepted_a.values() if down_at + 0.5 < t < up_at - 0.5]
    table = RouteTable.build(("", "", p, w) for p, w in WEIGHTS.items())
    route = table.route_for("", None)

    def pick(message_id: int) -> str:
        return ranked(route, message_id, {"default", "b"})[0]

    failed_over = sorted(accepted_b[i] for i, p in sent.items() if p == "b" and pick(i) == "default")
    assert failed_over, "no message A would have taken went to B"
    assert failed_over[0] > down_at - 0.5, failed_over[:3]
    # A back: the second mailing follows the weights, each message to its weighted pick, but for
    # those that failed over while the first one probed A (at most a batch or two of them).
    second_ids = list(second.messages.values_list("id", flat=True))
    elsewhere = [i for i in second_ids if sent[i] != pick(i)]
    assert len(elsewhere) <= 2 * BATCH, len(elsewhere)
    share_a = sum(sent[i] == "default" for i in second_ids) / SECOND
    assert abs(share_a - 0.7) < 0.05, share_a

    report(
        capsys,
        "provider_failover",
        messages=FIRST + SECOND,
        outage_s=DOWN_FOR,
        accepted_a=len(accepted_a),
        accepted_b=len(accepted_b),
        failed_over_to_b=len(failed_over),
        first_failover_after_down_s=round(failed_over[0] - down_at, 2),
        pinned_to_a=Message.objects.filter(provider_pinned=True, provider="default").count(),
        refused_by_a=stats_a["outcomes"].get("down", 0),
        first_a_after_return_s=round(min((t for t in accepted_a.values() if t > up_at), default=up_at) - up_at, 1),
        second_mailing_share_a=round(share_a, 3),
        second_mailing_not_at_pick=len(elsewhere),
        duplicates=stats_a["duplicates"] + stats_b["duplicates"],
    )
