"""Do-not-contact benchmark: the claim and the fan-out with the list empty and holding 100,000 phones.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice_bench_dnc .venv/bin/python bench/do_not_contact.py

Loads 200,000 clients into a *bench* database (its clients, mailings, messages and list are
emptied first), then, in rounds that interleave the cases: the claim of ten batches of 1,000
pending messages (median and max per batch) with the list empty, with 100,000 phones of which
half of each batch's, and with 100,000 phones none of the batch's; and the fan-out of the
200,000 clients with the list empty and with 100,000 of their phones on it. Ends with the plan
of the claim's drop statement (EXPLAIN ANALYZE) for one batch with 100,000 phones listed.
"""

import time
from datetime import timedelta

import harness

harness.setup_django()

from django.db import connection  # noqa: E402
from django.db.models import Exists, OuterRef  # noqa: E402
from django.utils import timezone  # noqa: E402

from mailings.models import Client, Mailing, Message, Suppression  # noqa: E402
from mailings.sending.batch import claim  # noqa: E402
from mailings.sending.fanout import fan_out  # noqa: E402

CLIENTS = 200_000
BATCH = 1000
BATCHES = 10
ROUNDS = 2


def load() -> int:
    Message.objects.all().delete()
    Mailing.objects.all().delete()
    Suppression.objects.all().delete()
    Client.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO mailings_client (phone_number, operator_code, tag, timezone, created_at, updated_at) "
            "SELECT '79' || lpad(g::text, 9, '0'), '900', '', 'Europe/Moscow', now(), now() "
            "FROM generate_series(1, %s) g",
            [CLIENTS],
        )
        cursor.execute("ANALYZE mailings_client")
    return Client.objects.order_by("id").values_list("id", flat=True).first()


def list_phones(where: str | None) -> int:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM mailings_suppression")
        if where:
            cursor.execute(
                "INSERT INTO mailings_suppression (phone_number, reason, source, note, created_at) "
                f"SELECT phone_number, 'manual', 'bench', '', now() FROM mailings_client WHERE {where}"
            )
        cursor.execute("ANALYZE mailings_suppression")
    return Suppression.objects.count()


def _mailing(text: str) -> Mailing:
    now = timezone.now()
    return Mailing.objects.create(
        message_text=text,
        start_datetime=now - timedelta(minutes=1),
        end_datetime=now + timedelta(hours=1),
        status=Mailing.Status.RUNNING,
        started_at=now,
    )


def measure_claim(label: str) -> list[int]:
    mailing = _mailing(label)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO mailings_message (mailing_id, client_id, phone_number, status, attempts, next_attempt_at, "
            "created_at, last_error, token) SELECT %s, id, phone_number, 'pending', 0, now(), now(), '', 1 "
            "FROM mailings_client ORDER BY id LIMIT %s",
            [mailing.pk, BATCH * BATCHES],
        )
        cursor.execute("ANALYZE mailings_message")
    ids = list(Message.objects.filter(mailing=mailing).order_by("id").values_list("id", flat=True))
    times, dropped = [], 0
    for start in range(0, len(ids), BATCH):
        started = time.perf_counter()
        rows, _ = claim(mailing_id=mailing.pk, message_ids=ids[start : start + BATCH], token=1, lease=60)
        times.append((time.perf_counter() - started) * 1000)
        dropped += BATCH - len(rows)
    times.sort()
    print(
        f"  claim, {label}: median {times[len(times) // 2]:.1f} ms, max {times[-1]:.1f} ms per 1,000; dropped {dropped}"
    )
    return ids


def measure_fan_out(label: str) -> None:
    mailing = _mailing(label)
    started = time.perf_counter()
    created = fan_out(mailing=mailing, now=timezone.now())
    took = time.perf_counter() - started
    mailing.refresh_from_db()
    left_out = mailing.left_out_do_not_contact
    print(f"  fan-out of {CLIENTS:,}, {label}: {took:.2f} s; {created:,} messages, {left_out:,} left out")
    Message.objects.filter(mailing=mailing).delete()


def explain_drop(ids: list[int]) -> None:
    mailing_id = Message.objects.get(pk=ids[0]).mailing_id
    Message.objects.filter(id__in=ids[:BATCH]).update(status=Message.Status.PENDING, token=1)
    rows = Message.objects.filter(id__any=ids[:BATCH], mailing_id=mailing_id, token=1, status="pending").filter(
        Exists(Suppression.objects.filter(phone_number=OuterRef("phone_number")))
    )
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, params)
        for (line,) in cursor.fetchall():
            print("  " + (line if len(line) < 160 else line[:120] + " ...)"))


def main() -> None:
    harness.require_bench_database()
    first = load()
    half = "id % 2 = 0"
    others = f"id >= {first + CLIENTS // 2}"  # the later 100,000: none of the batches' phones
    ids = []
    for number in range(1, ROUNDS + 1):
        print(f"round {number}")
        list_phones(None)
        measure_claim("list empty")
        measure_fan_out("list empty")
        print(f"  ({list_phones(half):,} listed)")
        ids = measure_claim("100,000 listed, half of each batch")
        measure_fan_out("100,000 listed")
        print(f"  ({list_phones(others):,} listed)")
        measure_claim("100,000 listed, none of the batch")
    list_phones(half)
    print("the claim's drop statement, one batch of 1,000, 100,000 listed:")
    explain_drop(ids)


if __name__ == "__main__":
    main()
