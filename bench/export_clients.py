"""CSV export benchmark: the admin's streamed export against django-import-export's, in memory and time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice_bench_export .venv/bin/python bench/export_clients.py

On a *bench* database holding --clients clients (1,000,000; it loads them unless that
many are there already, deleting every client and message first), each export runs in
a process of its own, so that its peak resident memory is its own:

- ours: the admin's `export_stream` (the response the export page sends), read to its end;
- django-import-export's: a `ModelResource` of the same columns, `export()` (a `Dataset`
  of every row) then its CSV format's `export_data()` (the file as one string), as its
  admin's export does.

It prints each one's file size, time and peak RSS, and a Django process's RSS before it
starts exporting.
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import harness

harness.setup_django()

from django.contrib import admin  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from import_export.formats.base_formats import CSV  # noqa: E402
from import_export.resources import ModelResource  # noqa: E402

from mailings.admin.clients import ClientAdmin  # noqa: E402
from mailings.client_csv import COLUMNS  # noqa: E402
from mailings.models import Client  # noqa: E402
from mailings.resources import ClientCSV  # noqa: E402

WAYS = ("ours", "django-import-export")


class StockClientResource(ModelResource):
    class Meta:
        model = Client
        fields = COLUMNS


def export(way: str) -> dict:
    """One export, in this process: the figures as a dict."""
    clients = Client.objects.all()
    before_mb = rss_mb()
    started = time.perf_counter()
    if way == "ours":
        response = ClientAdmin(Client, admin.site).export_stream(RequestFactory().post("/"), clients, ClientCSV(), None)
        size = sum(len(chunk) for chunk in response.streaming_content)
    else:
        size = len(CSV().export_data(StockClientResource().export(queryset=clients.order_by("id"))))
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "file_mb": size / 2**20, "peak_mb": peak_mb, "before_mb": before_mb}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def export_in_own_process(way: str) -> dict:
    answer = subprocess.run(
        [sys.executable, __file__, "--only", way], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(answer.splitlines()[-1])


def ensure_clients(n: int) -> None:
    if Client.objects.count() == n:
        return
    print(f"loading {n:,} clients", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE mailings_message, mailings_messagecount, mailings_mailing, mailings_client "
            "RESTART IDENTITY CASCADE"
        )
        cursor.execute(
            "INSERT INTO mailings_client (phone_number, operator_code, tag, timezone, created_at, updated_at) "
            "SELECT '79' || lpad(i::text, 9, '0'), '9' || lpad((i %% 100)::text, 2, '0'), 'tag' || (i %% 40), "
            "'Europe/Moscow', now(), now() FROM generate_series(1, %s) AS i",
            [n],
        )
        cursor.execute("VACUUM ANALYZE mailings_client")


def measure(figures: harness.Figures, clients: int) -> None:
    for way in WAYS:
        found = export_in_own_process(way)
        figures.add(f"{way}: seconds", found["seconds"], "s", ".1f")
        figures.add(f"{way}: peak RSS", found["peak_mb"], "MB")
        print(
            f"{way}: {clients:,} clients, a {found['file_mb']:.0f} MB file in {found['seconds']:.1f} s; "
            f"peak RSS {found['peak_mb']:.0f} MB (the process held {found['before_mb']:.0f} MB before)",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--only", choices=WAYS, help=argparse.SUPPRESS)  # one export, in this process
    harness.add_repeat_option(parser)
    args = parser.parse_args()
    harness.require_bench_database()
    if args.only:
        print(json.dumps(export(args.only)))
        return
    call_command("migrate", verbosity=0)
    ensure_clients(args.clients)
    harness.repeat(args.repeat, lambda figures: measure(figures, args.clients))


if __name__ == "__main__":
    main()
