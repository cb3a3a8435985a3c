"""Statistics benchmark: the statistics endpoints with 10,000,000 messages, against counting them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice_bench .venv/bin/python bench/statistics_page.py

Loads 10 mailings of 1,000,000 messages each (60% sent, 20% failed, 20% expired)
into a *bench* database unless they are there already (--reload forces it), then
times, best of 5: the admin's statistics page, GET /mailings/statistics/,
GET /mailings/<id>/statistics/, GET /messages/?status=failed, and the same
figures counted from the messages table (the baseline the counts replace); then
the admin's client and message lists, against the same lists counting every row.
"""

import argparse

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
        cursor.execute("VACUUM ANALYZE mailings_client")
        cursor.execute("VACUUM ANALYZE mailings_message")
    fold_message_counts()


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
        assert f"<dt>messages</dt><dd>{MAILINGS * PER_MAILING}</dd>" in response.content.decode()

    def message_list():
        response = api.get("/messages/?status=failed")
        assert response.status_code == 200
        assert response["X-Total-Count"] == str(MAILINGS * PER_MAILING // 5)

    def counted_list():
        Message.objects.filter(status="failed").count()

    def measure(figures: harness.Figures) -> None:
        def timed(name: str, function) -> float:
            return figures.add(name, harness.best_ms(function), "ms")

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
        message = Message.objects.filter(mailing=one, status="failed").order_by("-id").first()

        def message_page():
            assert browser.get(f"/admin/mailings/message/{message.pk}/change/").status_code == 200

        print(f"admin message page: {timed('admin message page', message_page):.0f} ms")
        admin_lists(browser, figures)
        delivery_log(browser, figures)
        deep_pages(api, figures)
        every_admin_page(browser, figures)

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

        fast = figures.add(f"admin {label}", harness.best_ms(get), "ms")
        # The baseline: Django's paginator, which counts every row the list selects.
        model_admin.get_paginator = lambda request, queryset, per_page, *args, **kwargs: Paginator(
            queryset, per_page, *args, **kwargs
        )
        try:
            exact = figures.add(f"admin {label}, counting every row", harness.best_ms(get), "ms")
        finally:
            del model_admin.get_paginator
        print(f"  {label}: {fast:.0f} ms; counting every row: {exact:.0f} ms")


def delivery_log(browser: Client, figures: harness.Figures) -> None:
    """The message list searched by phone and sorted by every column it offers (target: 50 ms each)."""
    from django.contrib.admin.views.main import ORDER_VAR

    from mailings.admin.messages import MessageAdmin

    column = MessageAdmin.list_display.index
    pages = [
        ("search, a full phone as people write it", "?q=%2B7 900 012-34-56"),
        ("search, a prefix of 1,000 phones (8 900 0123)", "?q=8 900 0123"),
        ("search, a prefix of 10,000 phones", "?q=7900012"),
        ("search, a prefix of 100,000 phones", "?q=790001"),
        ("search, a prefix of every phone", "?q=79"),
        ("search, no phone starts so", "?q=79999"),
        ("search, not a phone (nomatch, %)", "?q=nomatch"),
        ("search, by phone descending", f"?q=790001&{ORDER_VAR}=-{column('phone_number')}"),
        ("oldest first", f"?{ORDER_VAR}={column('id')}"),
        ("by phone", f"?{ORDER_VAR}={column('phone_number')}"),
        ("by phone descending", f"?{ORDER_VAR}=-{column('phone_number')}"),
        ("a status no message has (cancelled)", "?status__exact=cancelled"),
        ("a mailing and a status, oldest first", f"?status__exact=failed&mailing__id__exact=3&{ORDER_VAR}=0"),
        ("a mailing's expired ones (a statistics link)", "?mailing__id__exact=3&status__exact=expired"),
        ("a mailing's waiting ones (none)", "?mailing__id__exact=3&status__exact=pending&status__exact=sending"),
        ("a sort not offered (sent at): newest first", f"?{ORDER_VAR}={column('sent_at')}"),
        ("the last page of the failed ones", "?status__exact=failed&p=20000"),
    ]
    print("delivery log (admin messages), best of 5; target 50 ms for its SQL:")
    for label, query in pages:

        def get(query=query):
            response = browser.get("/admin/mailings/message/" + query)
            assert response.status_code == 200, response.status_code

        page = figures.add(f"delivery log, {label}", harness.best_ms(get), "ms")
        sql = figures.add(f"delivery log, {label}, its SQL", best_sql_ms(get), "ms", ",.1f")
        print(f"  {label}: {page:.0f} ms, its SQL {sql:.1f} ms")


def best_sql_ms(function, runs: int = 5) -> float:
    """The least time the SQL of `function`'s requests took, over `runs` runs (the page's database
    work, the part that grows with the table; the rest is rendering the page's rows)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    best = float("inf")
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            function()
        best = min(best, sum(float(query["time"]) for query in queries.captured_queries))
    return best * 1000


def deep_pages(api: APIClient, figures: harness.Figures) -> None:
    """/messages/ at any depth (target: 100 ms), against the same page read with OFFSET (the baseline)."""
    from django.core.paginator import Paginator

    from mailings.api.pagination import Cursor

    middle = Message.objects.order_by("id").values_list("id", flat=True)[MAILINGS * PER_MAILING // 2]
    pages = [
        ("the last page", "/messages/?page=last&page_size=1000", MAILINGS * PER_MAILING - 1000),
        ("the middle, by cursor", f"/messages/?cursor={Cursor('a', middle).encode()}&page_size=1000", None),
        ("the last failed ones", "/messages/?status=failed&page=last&page_size=1000", None),
    ]
    print("GET /messages/ deep pages of 1,000, best of 5; target 100 ms:")
    for label, url, offset in pages:

        def get(url=url):
            response = api.get(url)
            assert response.status_code == 200, response.json()
            assert len(response.json()) == 1000

        fast = figures.add(f"GET /messages/, {label}", harness.best_ms(get), "ms")
        if offset is None:
            print(f"  {label}: {fast:.0f} ms")
            continue
        rows = Message.objects.order_by("id")

        def with_offset(rows=rows, offset=offset):
            assert len(Paginator(rows, 1000).page(offset // 1000 + 1).object_list) == 1000

        slow = figures.add(f"GET /messages/, {label}, read with OFFSET", harness.best_ms(with_offset), "ms")
        print(f"  {label}: {fast:.0f} ms; its rows read with OFFSET: {slow:.0f} ms ({slow / fast:.0f}x)")


# Admin URLs that are not pages an operator opens: they log out, act, or answer a script.
NOT_PAGES = {"logout", "jsi18n", "autocomplete", "view_on_site"}
PAGE_TARGET_MS = 300


def admin_page_urls() -> list[str]:
    """Every page of the admin: the site's own, and each URL pattern of each model's admin filled
    in with the model's newest row; patterns that act rather than show are left out."""
    from django.contrib import admin
    from django.urls import URLPattern

    def routes(patterns, prefix: str):
        for pattern in patterns:
            if isinstance(pattern, URLPattern) and pattern.name not in NOT_PAGES:
                yield prefix + str(pattern.pattern), pattern.name or ""

    found = [(route, name, None) for route, name in routes(admin.site.get_urls(), "/admin/")]
    for model, model_admin in admin.site._registry.items():
        prefix = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        newest = model._default_manager.order_by("-pk").values_list("pk", flat=True).first()
        found += [(route, name, newest) for route, name in routes(model_admin.get_urls(), prefix)]
    urls = []
    for route, name, newest in found:
        route = route.replace("^", "").replace("$", "")
        if route.startswith("/admin/(?P<app_label>"):
            route = "/admin/mailings/"
        if "<path:object_id>" in route and newest is not None:
            route = route.replace("<path:object_id>", str(newest))
        if "<" in route or "(" in route or name.endswith(("_live_counts", "_text_parts", "_audience_preview")):
            continue  # a pattern still to fill in, or an endpoint a page's script calls
        urls.append(route)
    return sorted(set(urls))


def every_admin_page(browser: Client, figures: harness.Figures) -> None:
    """Every page of the admin, as a superuser opens it (target: 300 ms each)."""
    import logging

    logging.disable(logging.WARNING)  # the 403 tracebacks of the pages a model does not offer
    over = []
    print(f"every admin page, best of 5; target {PAGE_TARGET_MS} ms:")
    for url in admin_page_urls():
        status = {}

        def get(url=url, status=status):
            status["code"] = browser.get(url).status_code

        ms = figures.add(f"admin page {url}", harness.best_ms(get), "ms")
        print(f"  {url}: {ms:.0f} ms (HTTP {status['code']})")
        if ms > PAGE_TARGET_MS or status["code"] >= 500:
            over.append(url)
    print(f"  pages over {PAGE_TARGET_MS} ms or failing: {', '.join(over) or 'none'}")


if __name__ == "__main__":
    main()
