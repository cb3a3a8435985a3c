"""Delivery reports end to end: PostgreSQL, Redis, a Celery worker and beat, the sandbox provider
posting reports late, twice and out of order to the web on a real HTTP server (live_server)."""

import pytest
import requests

from mailings.counts import fold_message_counts
from mailings.delivery_selectors import delivery_counts_by_mailing
from mailings.models import Message
from tests.integration.conftest import processing_every
from tests.integration.faults import (
    all_done,
    mailing_for,
    make_clients,
    report,
    sending_env,
    wait_for,
    wait_until_ready,
)

SECRET = "integration-report-secret"  # pragma: allowlist secret
MESSAGES = 300


def _reports(sandbox_url: str) -> dict:
    return requests.get(f"{sandbox_url}/stats/reports", timeout=10).json()


@pytest.mark.integration
def test_delayed_duplicated_reordered_reports_end_with_the_right_statuses_and_counts(
    cluster, live_server, settings, capsys
):
    settings.DELIVERY_REPORT_SECRET = SECRET  # the web (live_server) runs in this process
    sandbox_url = cluster.sandbox_url
    cluster.env.update(sending_env(sandbox_url))
    make_clients(MESSAGES)
    processing_every(1)
    worker = cluster.worker("worker1", concurrency=2)
    cluster.beat()
    wait_until_ready(worker)
    cluster.sandbox(
        "--token", "faults-token", "--latency-ms", "20", "--error-rate", "0.1",
        "--reports-url", f"{live_server.url}/providers/default/delivery-reports/", "--report-secret", SECRET,
        "--report-delay", "0.5", "--report-jitter", "3", "--undelivered-rate", "0.25",
        "--report-duplicate-rate", "0.3", "--report-reorder-rate", "0.3",
    )  # fmt: skip

    mailing = mailing_for(120, text="Reports")
    wait_for(lambda: all_done(mailing), 90, "every message to end")
    sent = set(mailing.messages.filter(status=Message.Status.SENT).values_list("id", flat=True))
    assert len(sent) == MESSAGES
    wait_for(
        lambda: (r := _reports(sandbox_url))["pending"] == 0 and len(r["final"]) == MESSAGES,
        60,
        "the sandbox to post every report",
    )
    stats = _reports(sandbox_url)
    final = {int(k): v for k, v in stats["final"].items()}
    assert set(final) == sent

    recorded = dict(mailing.messages.values_list("id", "delivery_status"))
    wrong = {i: (recorded[i], final[i]) for i in sent if recorded[i] != final[i]}
    assert not wrong, f"messages whose latest report did not win: {list(wrong.items())[:10]}"
    assert mailing.messages.filter(status=Message.Status.SENT).count() == MESSAGES  # reports changed no status

    fold_message_counts()
    expected = {
        "delivered": sum(1 for v in final.values() if v == "delivered"),
        "undelivered": sum(1 for v in final.values() if v == "undelivered"),
        "no_report": 0,
    }
    assert delivery_counts_by_mailing(mailing_ids=[mailing.id])[mailing.id] == expected
    assert expected["undelivered"] > 0
    outcomes = stats["outcomes"]
    assert outcomes["applied"] >= MESSAGES
    assert outcomes.get("unknown", 0) == outcomes.get("late", 0) == 0
    assert outcomes["stale"] > 0  # duplicates and older reports arrived, and changed nothing
    report(capsys, "delivery_reports", **expected, **outcomes, posts=stats["posts"])
