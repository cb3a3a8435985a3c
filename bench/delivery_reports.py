"""Delivery reports benchmark: 100,000 reports posted in lists of 500 over HTTP to a running web process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice_bench_reports .venv/bin/python bench/delivery_reports.py

Loads 100,000 sent messages of one mailing into a *bench* database (its messages, mailings and
clients are emptied first), starts gunicorn (`--workers`, 2 by default) on loopback with the
migrations' triggers in place (the status, per-minute and delivery counts), and posts a report
for every message, 80% delivered and 20% undelivered, in shuffled lists of 500, signed with
X-Signature, from `--concurrency` client threads (4). Prints the reports applied per second
over the whole run, then posts every list again (duplicates: all stale, nothing written) and
prints that rate too. Ends by folding the delivery counts and checking them against the
messages themselves.
"""

import argparse
import json
import os
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import harness

SECRET = "bench-report-secret"
harness.setup_django(DELIVERY_REPORT_SECRET=SECRET)

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from backoffice.processes import ManagedProcess, free_port, wait_for_port  # noqa: E402
from mailings.counts import fold_message_counts  # noqa: E402
from mailings.delivery_reports import sign  # noqa: E402
from mailings.delivery_selectors import delivery_counts_by_mailing  # noqa: E402
from mailings.models import Client, DeliveryCount, Mailing, Message  # noqa: E402

MESSAGES = 100_000
LIST = 500


def load() -> Mailing:
    Message.objects.all().delete()
    DeliveryCount.objects.all().delete()
    Mailing.objects.all().delete()
    Client.objects.all().delete()
    now = timezone.now()
    mailing = Mailing.objects.create(
        start_datetime=now - timedelta(hours=1), end_datetime=now + timedelta(days=1), message_text="bench reports"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO mailings_client (phone_number, operator_code, tag, timezone, attributes, created_at, "
            "updated_at) SELECT '79' || lpad(g::text, 9, '0'), '900', '', 'Europe/Moscow', '{}', now(), now() "
            "FROM generate_series(1, %s) g",
            [MESSAGES],
        )
        cursor.execute(
            "INSERT INTO mailings_message (created_at, status, phone_number, attempts, next_attempt_at, sent_at, "
            "last_error, client_id, mailing_id, parts) "
            "SELECT now(), 'sent', phone_number, 1, now(), now(), '', id, %s, 1 FROM mailings_client",
            [mailing.id],
        )
        cursor.execute("ANALYZE mailings_message")
    fold_message_counts()
    return mailing


def start_web(workers: int) -> tuple[ManagedProcess, str]:
    port = free_port()
    env = {
        **os.environ,
        "DELIVERY_REPORT_SECRET": SECRET,
        "DELIVERY_REPORT_RATE": "100000/minute",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    log_dir = Path(os.environ.get("BENCH_LOG_DIR", "/tmp"))
    args = [sys.executable, "-m", "gunicorn", "backoffice.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}"]
    web = ManagedProcess("bench-reports-web", [*args, "--log-level", "warning"], env=env, log_dir=log_dir)
    wait_for_port(port, 30)
    return web, f"http://127.0.0.1:{port}/providers/default/delivery-reports/"


def bodies(ids: list[int]) -> list[bytes]:
    reported = timezone.now().isoformat()
    random.shuffle(ids)
    lists = []
    for start in range(0, len(ids), LIST):
        chunk = ids[start : start + LIST]
        lists.append(
            json.dumps(
                [
                    {
                        "id": i,
                        "status": "delivered" if i % 5 else "undelivered",
                        "error_code": None,
                        "reported_at": reported,
                    }
                    for i in chunk
                ]
            ).encode()
        )
    return lists


def post_all(url: str, lists: list[bytes], concurrency: int) -> tuple[float, dict[str, int]]:
    sessions = {}
    totals = {"applied": 0, "stale": 0, "late": 0, "unknown": 0}

    def post(body: bytes) -> dict:
        import threading

        session = sessions.setdefault(threading.get_ident(), requests.Session())
        headers = {"Content-Type": "application/json", "X-Signature": sign(secret=SECRET, body=body)}
        response = session.post(url, data=body, headers=headers, timeout=60)
        response.raise_for_status()
        return response.json()

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for answer in pool.map(post, lists):
            for key in totals:
                totals[key] += answer[key]
    return time.perf_counter() - started, totals


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--concurrency", type=int, default=4, help="lists posted at once")
    options = parser.parse_args()
    harness.require_bench_database()
    mailing = load()
    ids = list(Message.objects.filter(mailing=mailing).values_list("id", flat=True))
    lists = bodies(ids)
    print(f"{len(ids):,} sent messages, {len(lists)} lists of {LIST}; gunicorn -w {options.workers}, "
          f"{options.concurrency} lists in flight, triggers on", flush=True)  # fmt: skip
    web, url = start_web(options.workers)
    try:
        seconds, totals = post_all(url, lists, options.concurrency)
        print(
            f"reports applied: {totals['applied']:,} in {seconds:.2f} s = {totals['applied'] / seconds:,.0f} reports/s"
        )
        seconds, again = post_all(url, lists, options.concurrency)
        print(
            f"duplicates (all stale): {again['stale']:,} in {seconds:.2f} s = {again['stale'] / seconds:,.0f} reports/s"
        )
    finally:
        web.stop()
    fold_message_counts()
    counts = delivery_counts_by_mailing(mailing_ids=[mailing.id])[mailing.id]
    actual = {
        status: Message.objects.filter(mailing=mailing, delivery_status=status).count()
        for status in ("delivered", "undelivered", "no_report")
    }
    expected = {"delivered": sum(1 for i in ids if i % 5), "undelivered": sum(1 for i in ids if not i % 5)}
    ok = counts == actual and actual["delivered"] == expected["delivered"] and totals["applied"] == len(ids)
    print(f"counts (triggers): {counts}; counted in the messages: {actual}: {'OK' if ok else 'MISMATCH'}")
    print(f"(DELIVERY_REPORT_TIMEOUT {settings.DELIVERY_REPORT_TIMEOUT})")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
