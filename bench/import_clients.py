"""CSV import benchmark: a 100,000-row file through the admin's upload, preview and confirm.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice_bench .venv/bin/python bench/import_clients.py

Server time only (Django's test client, in process, no network), on a *bench*
database: the clients it makes have phones starting 78, and it deletes those first.
It times three imports of the same size: into an empty directory (all new), the same
file again (nothing changes) and a file that changes every tag (all updated), and,
as the baseline, django-import-export's stock row-by-row `ModelResource` on a
smaller file (it is too slow for the full one), both in rows per second.
Target: 100,000 rows from upload through confirm in at most 10 s (10,000 rows/s).
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-only-key")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")  # in-process requests over plain HTTP
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

import tablib  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client as WebClient  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from import_export import resources  # noqa: E402

from mailings.models import Client  # noqa: E402
from mailings.normalizers import normalize_phone  # noqa: E402

ZONES = ["Europe/Moscow", "Asia/Novosibirsk", "UTC+3", "GMT+7", "Europe/Kaliningrad"]


def csv_file(rows: int, tag: str) -> bytes:
    random.seed(rows)
    lines = ["phone_number;operator_code;tag;timezone"]
    for n in range(rows):
        lines.append(f"+7 8{n // 100_000:02d} {n % 100_000:07d};;{tag}{n % 40};{random.choice(ZONES)}")
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def web_client() -> WebClient:
    user, _ = get_user_model().objects.get_or_create(username="bench-import", defaults={"is_staff": True})
    user.is_staff = user.is_superuser = True
    user.save()
    client = WebClient()
    client.force_login(user)
    return client


def import_through_admin(client: WebClient, data: bytes) -> tuple[float, float, dict]:
    started = time.perf_counter()
    preview = client.post(
        "/admin/mailings/client/import/",
        {"format": 0, "resource": 0, "import_file": SimpleUploadedFile("clients.csv", data, "text/csv")},
    )
    preview_s = time.perf_counter() - started
    form = preview.context["confirm_form"]
    totals = dict(preview.context["result"].totals)
    started = time.perf_counter()
    done = client.post("/admin/mailings/client/process_import/", {name: form.initial[name] for name in form.fields})
    confirm_s = time.perf_counter() - started
    assert done.status_code == 302, done.status_code
    return preview_s, confirm_s, totals


class StockClientResource(resources.ModelResource):
    """The textbook resource doing the same job: phone normalised to match, every row validated."""

    class Meta:
        model = Client
        fields = ("phone_number", "operator_code", "tag", "timezone")
        import_id_fields = ["phone_number"]
        clean_model_instances = True

    def before_import_row(self, row, **kwargs):
        row["phone_number"] = normalize_phone(row["phone_number"])


def stock_import(data: bytes) -> float:
    dataset = tablib.Dataset().load(data.decode("utf-8-sig"), format="csv", delimiter=";")
    started = time.perf_counter()
    for dry_run in (True, False):
        result = StockClientResource().import_data(dataset, dry_run=dry_run)
        assert not result.has_errors()
        assert not result.has_validation_errors()
    return time.perf_counter() - started


def clear() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM mailings_client WHERE phone_number LIKE '78%%'")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=2_000)
    args = parser.parse_args()
    name = connection.settings_dict["NAME"]
    # It deletes every client whose phone starts with 78: never on a database that holds real ones.
    if connection.vendor != "postgresql" or "bench" not in name:
        sys.exit(f"refusing to run on {connection.vendor} database {name!r}: use PostgreSQL and a *bench* database")
    setup_test_environment()  # responses carry their template context
    call_command("collectstatic", interactive=False, verbosity=0)  # production's hashed static files
    client = web_client()

    clear()
    stock_s = stock_import(csv_file(args.baseline_rows, "t"))
    stock_rate = args.baseline_rows / stock_s
    print(f"baseline: stock ModelResource, {args.baseline_rows:,} rows: {stock_s:.2f} s, {stock_rate:,.0f} rows/s")

    clear()
    rates = []
    for label, tag in (("new", "t"), ("unchanged", "t"), ("updated", "u")):
        preview_s, confirm_s, totals = import_through_admin(client, csv_file(args.rows, tag))
        total_s = preview_s + confirm_s
        rates.append(args.rows / total_s)
        print(
            f"{label:>9}: {args.rows:,} rows, preview {preview_s:.2f} s + confirm {confirm_s:.2f} s = {total_s:.2f} s, "
            f"{args.rows / total_s:,.0f} rows/s ({rates[-1] / stock_rate:.0f}x stock); "
            f"new {totals['new']:,}, updated {totals['update']:,}, unchanged {totals['skip']:,}"
        )
    assert Client.objects.filter(phone_number__startswith="78").count() == args.rows
    print(f"slowest: {min(rates):,.0f} rows/s (target >= 10,000 rows/s, 100,000 rows <= 10 s)")
    clear()


if __name__ == "__main__":
    main()
