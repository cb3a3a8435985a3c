"""CSV import benchmark: the admin's import against django-import-export's, stock and tuned.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice_bench_import .venv/bin/python bench/import_clients.py

Server time only (in process, no network), on a *bench* database: the clients it makes
have phones starting 78, and it deletes those first. Every import is a preview (a dry
run) and then the import confirmed, as in the admin, and counts in rows per second:

- ours: the admin's upload, preview and confirm (Django's test client), --rows of them
  into an empty directory (new), the same file again (unchanged), a file that changes
  every tag (updated);
- django-import-export tuned as its own performance advice says (bulk writes, no diff,
  one query for the file's existing rows, values normalised once per file, each field's
  own checks instead of `full_clean()`'s queries per row), --tuned-rows new and updated;
- django-import-export's stock resource, row by row (`clean_model_instances`, a save
  per row), --stock-rows new and updated: it is too slow for a bigger file;

then ours / tuned and ours / stock. Target: 100,000 rows in at most 10 s (10,000 rows/s).
"""

import argparse
import random
import time

import harness

harness.setup_django()

import tablib  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client as WebClient  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from import_export import resources  # noqa: E402
from import_export.instance_loaders import CachedInstanceLoader  # noqa: E402

from mailings.client_csv import COLUMNS  # noqa: E402
from mailings.models import Client  # noqa: E402
from mailings.normalizers import normalize_phone, normalize_timezone  # noqa: E402

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
        fields = COLUMNS
        import_id_fields = ["phone_number"]
        clean_model_instances = True

    def before_import_row(self, row, **kwargs):
        row["phone_number"] = normalize_phone(row["phone_number"])


class TunedClientResource(resources.ModelResource):
    """The same job with django-import-export's advice for big files (its "Bulk imports" page and
    options): each of these settings is there for speed, none changes what is stored."""

    class Meta:
        model = Client
        fields = COLUMNS
        import_id_fields = ["phone_number"]
        use_bulk = True  # bulk_create / bulk_update by batch_size (1,000) instead of a save per row
        skip_diff = True  # no copy of each instance and no field-by-field comparison
        instance_loader_class = CachedInstanceLoader  # the file's existing clients in one query

    def before_import(self, dataset, **kwargs):
        # Once for the whole file (each distinct value once), so that the loader finds the stored phones.
        for column, normalize in (("phone_number", normalize_phone), ("timezone", normalize_timezone)):
            values = normalized(dataset[column], normalize)
            del dataset[column]
            dataset.append_col(values, header=column)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        # Each field's own checks and the model's clean(), without full_clean()'s two queries per row
        # (unique phone, check constraints): the loader has already matched the phone to its row.
        errors = dict(import_validation_errors or {})
        try:
            instance.clean_fields(exclude=errors.keys())
            instance.clean()
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)


def normalized(values: list, normalize) -> list:
    done: dict = {}
    for value in values:
        if value not in done:
            try:
                done[value] = normalize(value)
            except ValidationError:
                done[value] = value  # the field's own clean reports it, on its row
    return [done[value] for value in values]


def library_import(resource_class: type[resources.ModelResource], data: bytes) -> float:
    """A preview (dry run) then the import, as the admin does them, file reading included: seconds."""
    started = time.perf_counter()
    for dry_run in (True, False):
        dataset = tablib.Dataset().load(data.decode("utf-8-sig"), format="csv", delimiter=";")
        result = resource_class().import_data(dataset, dry_run=dry_run)
        assert not result.has_errors(), result.base_errors or result.row_errors()[:1]
        assert not result.has_validation_errors(), result.invalid_rows[:1]
    return time.perf_counter() - started


def library_rates(resource_class: type[resources.ModelResource], rows: int, client: WebClient) -> tuple[float, float]:
    """Rows per second into an empty directory, and updating every row (set up by the admin's import)."""
    clear()
    new_s = library_import(resource_class, csv_file(rows, "t"))
    assert imported(rows, "t")
    clear()
    import_through_admin(client, csv_file(rows, "t"))
    updated_s = library_import(resource_class, csv_file(rows, "u"))
    assert imported(rows, "u")
    return rows / new_s, rows / updated_s


def imported(rows: int, tag: str) -> bool:
    return Client.objects.filter(phone_number__startswith="78", tag__startswith=tag).count() == rows


def clear() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM mailings_client WHERE phone_number LIKE '78%%'")


def measure(figures: harness.Figures, args: argparse.Namespace, client: WebClient) -> None:
    baselines = {}
    for label, resource_class, rows in (
        ("stock, row by row", StockClientResource, args.stock_rows),
        ("tuned", TunedClientResource, args.tuned_rows),
    ):
        new, updated = library_rates(resource_class, rows, client)
        baselines[label] = new, updated
        figures.add(f"django-import-export {label}, new", new, "rows/s")
        figures.add(f"django-import-export {label}, updated", updated, "rows/s")
        print(f"django-import-export {label}, {rows:,} rows: new {new:,.0f} rows/s, updated {updated:,.0f} rows/s")

    clear()
    ours = {}
    for label, tag in (("new", "t"), ("unchanged", "t"), ("updated", "u")):
        preview_s, confirm_s, totals = import_through_admin(client, csv_file(args.rows, tag))
        assert imported(args.rows, tag), f"{label}: the confirmation imported nothing (the upload lost?)"
        total_s = preview_s + confirm_s
        ours[label] = figures.add(f"ours, {label}", args.rows / total_s, "rows/s")
        figures.add(f"ours, {label}, seconds", total_s, "s", ".2f")
        print(
            f"ours, {label:>9}: {args.rows:,} rows, preview {preview_s:.2f} s + confirm {confirm_s:.2f} s "
            f"= {total_s:.2f} s, {ours[label]:,.0f} rows/s; "
            f"new {totals['new']:,}, updated {totals['update']:,}, unchanged {totals['skip']:,}"
        )
    clear()
    for label, (new, updated) in baselines.items():
        on_new = figures.add(f"ours / {label}, new", ours["new"] / new, "x", ".1f")
        on_updated = figures.add(f"ours / {label}, updated", ours["updated"] / updated, "x", ".1f")
        print(f"ours / {label}: new {on_new:.1f}x, updated {on_updated:.1f}x")
    print(f"ours, slowest: {min(ours.values()):,.0f} rows/s (target >= 10,000 rows/s, 100,000 rows <= 10 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="rows of ours")
    parser.add_argument("--tuned-rows", type=int, default=20_000, help="rows of the tuned django-import-export")
    parser.add_argument("--stock-rows", type=int, default=2_000, help="rows of the stock django-import-export")
    harness.add_repeat_option(parser)
    args = parser.parse_args()
    harness.require_bench_database()  # it deletes every client whose phone starts with 78
    call_command("migrate", verbosity=0)
    setup_test_environment()  # responses carry their template context
    call_command("collectstatic", interactive=False, verbosity=0)  # production's hashed static files
    client = web_client()
    harness.repeat(args.repeat, lambda figures: measure(figures, args, client))


if __name__ == "__main__":
    main()
