"""Personalised texts on the real components: PostgreSQL, Redis, a Celery worker and the sandbox.

Each client gets its own rendered text (the sandbox records every text it receives); a client
lacking an attribute without a default (removed after the mailing was saved) gets nothing and its
message fails saying why; each sent message records its parts and the statistics sum them.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from mailings import selectors, services
from mailings.models import Client, Message
from tests.integration.faults import S, all_done, mailing_for, sandbox_received, sandbox_stats, sending_env, wait_for

CLIENTS = 60


@pytest.mark.integration
def test_each_client_gets_its_own_text_and_parts_are_summed(cluster, api):
    url = cluster.sandbox_url
    cluster.env.update(sending_env(url, SENDING_CONCURRENCY=10, SENDING_BATCH_SIZE=25))
    Client.objects.bulk_create(
        Client(
            phone_number=f"7900{i:07d}",
            operator_code="900",
            tag="vip" if i % 2 else "",
            timezone="Europe/Moscow",
            # Every third client has no first name; client 7 a contract long enough for two parts.
            attributes={"contract": "C" * 200 if i == 7 else f"C-{i}", **({"first_name": f"N{i}"} if i % 3 else {})},
        )
        for i in range(CLIENTS)
    )
    text = "{first_name|customer}, contract {contract} ({tag|none}) {{ok}}"
    cluster.sandbox("--token", "faults-token")
    cluster.worker("worker", concurrency=1)

    # Saved while every client has a contract; then one client loses it, and the mailing starts.
    mailing = mailing_for(600, text, start=timezone.now() + timedelta(hours=1))
    lacking = Client.objects.get(phone_number="79000000011")
    services.client_update(client=lacking, attributes={"first_name": "N11"})
    mailing = services.mailing_update(mailing=mailing, start_datetime=timezone.now())  # starts at once

    wait_for(lambda: all_done(mailing), 90, "every message to end")

    received = set(sandbox_received(url))
    expected = {}
    for client in Client.objects.exclude(pk=lacking.pk):
        first = client.attributes.get("first_name", "customer")
        expected[client.phone_number] = (
            f"{first}, contract {client.attributes['contract']} ({client.tag or 'none'}) {{ok}}"
        )
    assert received == set(expected.values())
    assert sandbox_stats(url)["accepted"] == CLIENTS - 1

    failed = Message.objects.get(mailing=mailing, client=lacking)
    assert failed.status == S.FAILED
    assert failed.last_error.startswith("not sent: the client has no attribute contract")

    sent = Message.objects.filter(mailing=mailing, status=S.SENT)
    assert sent.count() == CLIENTS - 1
    assert sent.get(phone_number="79000000007").parts == 2
    assert set(sent.exclude(phone_number="79000000007").values_list("parts", flat=True)) == {1}
    assert selectors.parts_sent_by_mailing(mailing_ids=[mailing.pk]) == {mailing.pk: CLIENTS}
    assert api.get(f"/mailings/{mailing.pk}/statistics/").json()["parts_sent"] == CLIENTS
