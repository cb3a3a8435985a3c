"""The do-not-contact list end to end: PostgreSQL, Redis, a Celery worker and beat, the sandbox
provider, and the web on a real HTTP server (live_server) taking the replies the sandbox delivers."""

import json
import urllib.request

import pytest

from mailings import services
from mailings.models import Client, Message, Suppression
from mailings.sending.batch import DO_NOT_CONTACT
from tests.integration.conftest import processing_every
from tests.integration.faults import all_done, mailing_for, sending_env, wait_for, wait_until_ready

S = Message.Status
SECRET = "integration-inbound-secret"
LISTED, REPLIER = "79000000000", "79000000005"  # on the list from the start; replies STOP, then START


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _texts(sandbox_url: str, phone: str) -> list[str]:
    return _get(f"{sandbox_url}/stats/phones").get(phone, [])


@pytest.mark.integration
def test_stop_and_start_through_the_sandbox_reach_the_sending(cluster, live_server, settings):
    settings.INBOUND_SECRET = SECRET  # the web (live_server) runs in this process
    sandbox_url = cluster.sandbox_url
    # One message at a time, 1.5 s each: the replier's message still waits when its STOP arrives.
    cluster.env.update(sending_env(sandbox_url, SENDING_CONCURRENCY=1, SENDING_BATCH_SIZE=1, SENDING_READ_TIMEOUT=5))
    Client.objects.bulk_create(
        Client(phone_number=f"790000000{i:02d}", operator_code="900", timezone="Europe/Moscow") for i in range(6)
    )
    services.suppression_add(phone_number=LISTED, reason=Suppression.Reason.COMPLAINT, source="test")
    processing_every(1)
    worker = cluster.worker("worker1")
    cluster.beat()
    wait_until_ready(worker)
    cluster.sandbox(
        "--token", "faults-token", "--latency-ms", "1500",
        "--inbound-url", f"{live_server.url}/inbound/default/", "--inbound-secret", SECRET,
    )  # fmt: skip

    first = mailing_for(120, text="First")
    wait_for(lambda: first.messages.exists(), 30, "the first mailing's fan-out")
    first.refresh_from_db()
    assert first.left_out_do_not_contact == 1  # the listed phone got no message
    assert not first.messages.filter(phone_number=LISTED).exists()
    replier = first.messages.get(phone_number=REPLIER)
    assert replier.status in (S.PENDING, S.SENDING)
    assert not _texts(sandbox_url, REPLIER)

    # The person replies STOP while the mailing runs: sandbox -> POST /inbound/default/ -> the list.
    answer = _post(f"{sandbox_url}/replies", {"phone": REPLIER, "text": "stop"})
    assert answer["status"] == 200, answer
    assert answer["answer"]["suppressed"] == 1, answer
    assert Suppression.objects.get(phone_number=REPLIER).reason == "stop"

    wait_for(lambda: all_done(first), 60, "the first mailing's messages to end")
    replier.refresh_from_db()
    assert (replier.status, replier.last_error, replier.attempts) == (S.CANCELLED, DO_NOT_CONTACT, 0)
    assert _texts(sandbox_url, REPLIER) == []
    assert _texts(sandbox_url, LISTED) == []
    others = [f"790000000{i:02d}" for i in range(1, 5)]
    assert all(_texts(sandbox_url, phone) == ["First"] for phone in others)

    # START lifts the STOP (the complaint stays): the next mailing reaches the replier again.
    answer = _post(f"{sandbox_url}/replies", {"phone": REPLIER, "text": "Start"})
    assert answer["answer"]["unsuppressed"] == 1, answer
    second = mailing_for(120, text="Second")
    wait_for(lambda: all_done(second), 60, "the second mailing's messages to end")
    second.refresh_from_db()
    assert second.left_out_do_not_contact == 1
    assert _texts(sandbox_url, REPLIER) == ["Second"]
    assert _texts(sandbox_url, LISTED) == []
