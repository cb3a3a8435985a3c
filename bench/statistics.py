"""Statistics benchmark: the statistics endpoints with 10,000,000 messages, against counting them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice_bench .venv/bin/python bench/statistics.py

Loads 10 mailings of 1,000,000 messages each (60% sent, 20% failed, 20% expired)
into a *bench* database unless they are there already (--reload forces it), then
times, best of 5: the admin's statistics page, GET /mailings/statistics/,
GET /mailings/<id>/statistics/, GET /messages/?status=failed, and the same
figures counted from the messages table (the baseline the counts replace); then
the admin's client and message lists, against the same lists counting every row.
"""

import argparse
import time

import harness

harness.setup_django()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from mailings.counts import fold_message_counts  # noqa: E402
from mailings.models import Client as ClientModel  # noqa: E402
from mailings.models import Mailing, Message  # noqa: E402

MAILINGS, PER_MAILING = 10, 1_000_000


def load() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE mailings_message, mailings_messagecount, mailings_mailing, mailings_client "
            "RESTART IDENTITY CASCADE"
        )
        cursor.execute(
            "INSERT INTO mailings_client (phone_number, operator_code, tag, timezone, created_at, updated_at) "
            "SELECT '79' || lpad(i::text, 9, '0'), '900', 'bench', 'UTC', now(), now() "
            "FROM generate_series(1, %s) AS i",
            [PER_MAILING],
        )
        for n in range(MAILINGS):
            now = timezone.now()
            mailing = Mailing.objects.create(
                start_datetime=now, end_datetime=now + timezone.timedelta(hours=1), message_text=f"bench {n}"
            )
            cursor.execute(
                "INSERT INTO mailings_message (mailing_id, client_id, phone_number, status, attempts, "
                "next_attempt_at, created_at, last_error) SELECT %s, id, phone_number, "
                "(ARRAY['sent','sent','sent','failed','expired'])[1 + id %% 5], 1, now(), now(), '' "
                "FROM mailings_client",
                [mailing.pk],
            )
            print(f"loaded mailing {n + 1}/{MAILINGS}", flush=True)
        Mailing.objects.update(status=Mailing.Status.FINISHED)
        cursor.execute("VACUUM ANALYZE mailings_message")
    fold_message_counts()


def best_ms(function, runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reload", action="store_true", help="load the 10,000,000 messages again")
    harness.add_repeat_option(parser)
    args = parser.parse_args()
    harness.require_bench_database()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # production's hashed static files
    if args.reload or Message.objects.count() != MAILINGS * PER_MAILING:
        load()

    user, _ = get_user_model().objects.update_or_create(
        username="bench", defaults={"is_superuser": True, "is_staff": True}
    )
    api = APIClient(SERVER_NAME="testserver")
    api.force_authenticate(user)
    one = Mailing.objects.order_by("id").last()

    def overall():
        response = api.get("/mailings/statistics/")
        assert response.status_code == 200
        assert response.json()["messages_total"] == MAILINGS * PER_MAILING

    def single():
        response = api.get(f"/mailings/{one.pk}/statistics/")
        assert response.status_code == 200
        assert response.json()["messages_total"] == PER_MAILING

    def counted_overall():
        list(Message.objects.values_list("mailing_id", "status").annotate(n=Count("id")).order_by())

    def counted_single():
        list(Message.objects.filter(mailing=one).values_list("status").annotate(n=Count("id")).order_by())

    browser = Client(SERVER_NAME="testserver")
    browser.force_login(user)

    def admin_page():
        response = browser.get("/admin/mailings/mailingstatistics/")
        assert response.status_code == 200
        assert f"<td>{MAILINGS * PER_MAILING}</td>" in response.content.decode()

    def message_list():
        response = api.get("/messages/?status=failed")
        assert response.status_code == 200
        assert response["X-Total-Count"] == str(MAILINGS * PER_MAILING // 5)

    def counted_list():
        Message.objects.filter(status="failed").count()

    def measure(figures: harness.Figures) -> None:
        def timed(name: str, function) -> float:
            return figures.add(name, best_ms(function), "ms")

        print(f"{MAILINGS * PER_MAILING:,} messages in {MAILINGS} mailings; best of 5:")
        print(f"admin statistics page: {timed('admin statistics page', admin_page):.0f} ms")
        fast = timed("GET /mailings/statistics/", overall)
        slow = timed("GET /mailings/statistics/, counting the messages", counted_overall)
        print(f"GET /mailings/statistics/: {fast:.0f} ms; counting the messages: {slow:.0f} ms")
        fast = timed("GET /messages/?status=failed", message_list)
        slow = timed("GET /messages/?status=failed, its COUNT(*)", counted_list)
        print(f"GET /messages/?status=failed: {fast:.0f} ms; its COUNT(*): {slow:.0f} ms")
        fast = timed("GET /mailings/<id>/statistics/", single)
        slow = timed("GET /mailings/<id>/statistics/, counting its messages", counted_single)
        print(f"GET /mailings/{one.pk}/statistics/: {fast:.0f} ms; counting its messages: {slow:.0f} ms")
        admin_lists(browser, figures)

    harness.repeat(args.repeat, measure)


def admin_lists(browser: Client, figures: harness.Figures) -> None:
    """The client and message change lists, against the same pages counting every row (the baseline)."""
    from django.contrib import admin
    from django.core.paginator import Paginator

    pages = [
        ("clients, unfiltered", "/admin/mailings/client/"),
        ("clients, tag filter", "/admin/mailings/client/?tag=bench"),
        ("clients, phone prefix search", "/admin/mailings/client/?q=790000012"),
        ("messages, unfiltered", "/admin/mailings/message/"),
        ("messages, status filter", "/admin/mailings/message/?status__exact=failed"),
    ]
    print(f"admin change lists ({PER_MAILING:,} clients, {MAILINGS * PER_MAILING:,} messages); best of 5:")
    for label, url in pages:
        model_admin = admin.site._registry[Message if "message" in url else ClientModel]

        def get(url=url):
            response = browser.get(url)
            assert response.status_code == 200, response.status_code

        fast = figures.add(f"admin {label}", best_ms(get), "ms")
        # The baseline: Django's paginator, which counts every row the list selects.
        model_admin.get_paginator = lambda request, queryset, per_page, *args, **kwargs: Paginator(
            queryset, per_page, *args, **kwargs
        )
        try:
            exact = figures.add(f"admin {label}, counting every row", best_ms(get), "ms")
        finally:
            del model_admin.get_paginator
        print(f"  {label}: {fast:.0f} ms; counting every row: {exact:.0f} ms")


if __name__ == "__main__":
    main()
