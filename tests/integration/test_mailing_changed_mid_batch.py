"""A mailing paused, cancelled, ended or reworded while one of its batches is on the wire.

A batch checks its mailing right before each request and re-reads it at most every
`MAILING_REFRESH_SECONDS`; docs/sending.md promises that a change reaches the requests
within half a second. One worker process sends a long batch through a
slow sandbox, and the change lands in its middle. The sandbox notes when each request
arrived and with which text, on the same clock (`time.time()` on this machine) as the
moment the test noted the change committed: after a pause, a cancel or a new end no
request arrives later than the promised half second after the change (the requests in flight
at that moment had arrived before it), and after a new text none carries the old one.
"""

import time

import pytest
from django.utils import timezone

from mailings import services
from mailings.models import Message
from tests.integration.faults import (
    S,
    accepted_count,
    mailing_for,
    make_clients,
    report,
    sandbox_received,
    sending_env,
    wait_for,
)

LATENCY = 0.2  # seconds the sandbox takes over each request
CONCURRENCY = 10
BATCH = 300  # 30 rounds of 10 requests: 6 s of sending, so that the change finds seconds of it left
OLD_TEXT, NEW_TEXT = "Before the change", "After the change"

# The promise (docs/sending.md), not the engine's setting: the test must fail if the setting breaks it.
PROMISED_SECONDS = 0.5
# A request may still start on the mailing as it was before the change if the batch's last read of
# it began before the commit: the next read comes the refresh interval after that read ended. On
# top of the interval come that read itself and the request's way from the check to the sandbox
# (a PostgreSQL query, a Redis read of the circuit, an HTTP request on loopback: milliseconds,
# more on a loaded machine); one provider latency is allowed for them. A batch that missed the
# change goes on for seconds (the test asserts how long it had left), far past this bound.
BOUND = PROMISED_SECONDS + LATENCY

CHANGES = {
    "pause": lambda mailing: services.mailing_pause(mailing=mailing),
    "cancel": lambda mailing: services.mailing_cancel(mailing=mailing),
    "end_now": lambda mailing: services.mailing_update(mailing=mailing, end_datetime=timezone.now()),
    "new_text": lambda mailing: services.mailing_update(mailing=mailing, message_text=NEW_TEXT),
}


@pytest.mark.integration
@pytest.mark.parametrize("change", CHANGES)
def test_a_change_mid_batch_reaches_the_next_requests_within_half_a_second(cluster, capsys, change):
    url = cluster.sandbox_url
    cluster.env.update(sending_env(url, SENDING_CONCURRENCY=CONCURRENCY, SENDING_BATCH_SIZE=BATCH))
    make_clients(2 * BATCH)
    cluster.sandbox("--token", "faults-token", "--latency-ms", str(round(LATENCY * 1000)))
    cluster.worker("worker", concurrency=1)  # one batch at a time

    # Saved with its window open, it starts at once: no beat needed.
    mailing = mailing_for(600, OLD_TEXT)
    wait_for(lambda: accepted_count(url) >= 2 * CONCURRENCY, 60, "the first batch to be under way")
    held = set(Message.objects.filter(status=S.SENDING).values_list("id", flat=True))
    changing_at = time.time()
    CHANGES[change](mailing)
    changed_at = time.time()  # committed (the services write in a transaction of their own): the bound's origin

    # The batch had more left than the bound: a batch that missed the change would be seen. Of its
    # rows still `sending`, at most CONCURRENCY were on the wire or answered and not yet recorded.
    unstarted = len(held) - CONCURRENCY
    assert unstarted * LATENCY / CONCURRENCY > 2 * BOUND, f"only {unstarted} requests of the batch were left"
    wait_for(
        lambda: not Message.objects.filter(id__in=held, status=S.SENDING).exists(),
        BATCH * LATENCY / CONCURRENCY + 30,
        "the batch under way at the change to end",
    )
    if change == "new_text":
        # It sends on; stopped here so that the test ends with an idle worker.
        services.mailing_cancel(mailing=mailing)
        wait_for(lambda: not mailing.messages.filter(status=S.SENDING).exists(), 30, "the worker to stop sending")

    received = sandbox_received(url)
    # What must no longer start: after a new text, requests with the old one; after the rest, any.
    stale = [OLD_TEXT] if change == "new_text" else list(received)
    late = sorted(t - changed_at for text in stale for t in received[text] if t - changed_at > BOUND)
    assert not late, (
        f"{len(late)} requests started {late[0]:.2f} to {late[-1]:.2f} s after the change (bound {BOUND} s)"
    )
    if change == "new_text":
        assert received.get(NEW_TEXT), "no request carried the new text"
    last_old = max(received[OLD_TEXT]) - changed_at
    report(
        capsys,
        f"changed_mid_batch[{change}]",
        batch_left_at_change=unstarted,
        change_took_s=round(changed_at - changing_at, 2),
        last_old_request_after_change_s=round(last_old, 2),
        new_text_requests=len(received.get(NEW_TEXT, [])),
        bound_s=BOUND,
    )
