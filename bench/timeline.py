"""Timeline benchmark: a mailing's send rate, estimated finish and per-minute chart at 1,000,000 messages.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice_timeline_bench .venv/bin/python bench/timeline.py

Loads (unless there already; --reload forces it) one running mailing of 1,000,000 messages,
800,000 of them sent or failed (1 in 13) over the last 2 hours through real UPDATE statements
of 200 messages each, so the per-minute triggers write what they write in production; each
simulated minute's rows are then moved to that minute. Times, best of 5: the selectors and the
mailing's change page, with the rows unfolded (8,160 of them, the tick not run) and folded; the
chart's selector for a mailing sending every minute for 30 days (86,400 folded rows, generated);
then the cost of the per-minute trigger on 100 updates of 500 messages (rolled back).
"""

import argparse
import time
from datetime import timedelta

import harness

harness.setup_django()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from mailings import timeline  # noqa: E402
from mailings.admin.timeline import mailing_timeline_context  # noqa: E402
from mailings.counts import fold_message_counts  # noqa: E402
from mailings.models import Mailing, Message, MessageMinute  # noqa: E402

TEXT = "timeline bench"
MESSAGES, SENT, MINUTES, BATCH = 1_000_000, 800_000, 120, 200


def load() -> Mailing:
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE mailings_message, mailings_messagecount, mailings_messageminute, mailings_mailing "
            "RESTART IDENTITY CASCADE"
        )
        mailing = Mailing.objects.create(
            start_datetime=now - timedelta(minutes=MINUTES), end_datetime=now + timedelta(days=1),
            message_text=TEXT, status=Mailing.Status.RUNNING, started_at=now - timedelta(minutes=MINUTES),
        )  # fmt: skip
        cursor.execute(
            "INSERT INTO mailings_message (mailing_id, phone_number, status, attempts, next_attempt_at, "
            "created_at, last_error) SELECT %s, '79' || lpad(i::text, 9, '0'), 'pending', 0, now(), now(), '' "
            "FROM generate_series(1, %s) AS i",
            [mailing.pk, MESSAGES],
        )
        per_minute = SENT // MINUTES
        first_id = Message.objects.filter(mailing=mailing).order_by("id").values_list("id", flat=True)[0]
        for minute in range(MINUTES):
            stamp = (now - timedelta(minutes=MINUTES - minute)).replace(second=0, microsecond=0)
            last_row = MessageMinute.objects.order_by("-id").values_list("id", flat=True).first() or 0
            start = first_id + minute * per_minute
            for low in range(start, start + per_minute, BATCH):
                cursor.execute(
                    "UPDATE mailings_message SET status = CASE WHEN id %% 13 = 0 THEN 'failed' ELSE 'sent' END, "
                    "attempts = 1 WHERE id BETWEEN %s AND %s",
                    [low, min(low + BATCH, start + per_minute) - 1],
                )
            MessageMinute.objects.filter(id__gt=last_row).update(minute=stamp)
            if minute % 20 == 19:
                print(f"sent minute {minute + 1}/{MINUTES}", flush=True)
        cursor.execute("VACUUM ANALYZE mailings_message")
        cursor.execute("VACUUM ANALYZE mailings_messageminute")
    return mailing


def long_life() -> Mailing:
    """A mailing that has sent and failed every minute for 30 days: its folded minute rows, generated."""
    mailing = Mailing.objects.filter(message_text=f"{TEXT}, 30 days").first()
    if mailing:
        return mailing
    now = timezone.now()
    mailing = Mailing.objects.create(
        start_datetime=now - timedelta(days=30), end_datetime=now + timedelta(days=1), message_text=f"{TEXT}, 30 days",
        status=Mailing.Status.RUNNING, started_at=now - timedelta(days=30),
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO mailings_messageminute (mailing_id, status, minute, delta) "
            "SELECT %s, status, date_trunc('minute', now()) - make_interval(mins => i), 50 "
            "FROM generate_series(1, 43200) AS i, unnest(ARRAY['sent', 'failed']) AS status",
            [mailing.pk],
        )
        cursor.execute("ANALYZE mailings_messageminute")
    return mailing


def trigger_cost(mailing: Mailing, figures: harness.Figures) -> None:
    """100 updates of 500 waiting messages to sent, with and without the per-minute trigger.

    Each run takes rows no run touched (a rolled-back update leaves dead row versions that
    slow the next one on the same rows), in the order without, with, with, without.
    """
    low = Message.objects.filter(mailing=mailing, status="pending").order_by("id").values_list("id", flat=True)[0]

    def updates(run: int, with_minutes: bool) -> float:
        first = low + run * 50_000
        with transaction.atomic(), connection.cursor() as cursor:
            if not with_minutes:
                cursor.execute("ALTER TABLE mailings_message DISABLE TRIGGER mailings_message_minute_update")
            started = time.perf_counter()
            for n in range(100):
                cursor.execute(
                    "UPDATE mailings_message SET status = 'sent' WHERE id BETWEEN %s AND %s",
                    [first + n * 500, first + n * 500 + 499],
                )
            elapsed = time.perf_counter() - started
            transaction.set_rollback(True)
        return elapsed * 1000

    runs = [updates(run, with_minutes) for run, with_minutes in enumerate((False, True, True, False))]
    without_ms, with_ms = (runs[0] + runs[3]) / 2, (runs[1] + runs[2]) / 2
    figures.add("100 updates of 500 messages, without the per-minute trigger", without_ms, "ms")
    figures.add("100 updates of 500 messages, with it", with_ms, "ms")
    print(f"100 updates of 500 messages: {without_ms:.0f} ms without the per-minute trigger, {with_ms:.0f} ms with it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reload", action="store_true", help="load the mailing again")
    harness.add_repeat_option(parser)
    args = parser.parse_args()
    harness.require_bench_database()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    mailing = Mailing.objects.filter(message_text=TEXT).first()
    if args.reload or mailing is None:
        started = time.perf_counter()
        mailing = load()
        print(f"loaded in {time.perf_counter() - started:.0f} s")
    user, _ = get_user_model().objects.update_or_create(
        username="bench", defaults={"is_superuser": True, "is_staff": True}
    )
    browser = Client(SERVER_NAME="testserver")
    browser.force_login(user)

    def page():
        response = browser.get(f"/admin/mailings/mailing/{mailing.pk}/change/")
        assert response.status_code == 200, response.status_code
        assert 'class="timeline-chart"' in response.content.decode()

    def measure(figures: harness.Figures) -> None:
        rows = MessageMinute.objects.filter(mailing_id=mailing.pk).count()
        for state in ("before the fold", "after the fold"):
            if state == "after the fold":
                fold_message_counts()
                rows = MessageMinute.objects.filter(mailing_id=mailing.pk).count()
            print(f"{MESSAGES:,} messages, {SENT:,} sent or failed over {MINUTES} minutes; {rows:,} minute rows "
                  f"({state}); best of 5:")  # fmt: skip
            for name, function in (
                ("mailing_sent_failed_per_minute", lambda: timeline.mailing_sent_failed_per_minute(mailing=mailing)),
                ("mailing_send_rate", lambda: timeline.mailing_send_rate(mailing=mailing)),
                ("mailing_finish_estimate", lambda: timeline.mailing_finish_estimate(mailing=mailing)),
                ("the page's timeline block", lambda: mailing_timeline_context(mailing=mailing)),
                ("the mailing's change page", page),
            ):
                print(f"  {name}: {figures.add(f'{name} ({state})', harness.best_ms(function), 'ms'):.1f} ms")
        month = long_life()
        chart = harness.best_ms(lambda: timeline.mailing_sent_failed_per_minute(mailing=month))
        figures.add("mailing_sent_failed_per_minute, 30 days of minutes", chart, "ms")
        print(f"mailing_sent_failed_per_minute, 30 days sending every minute (86,400 rows, 61 bars): {chart:.1f} ms")
        trigger_cost(mailing, figures)

    harness.repeat(args.repeat, measure)


if __name__ == "__main__":
    main()
