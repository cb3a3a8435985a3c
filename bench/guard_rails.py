"""The guard rails' checks on save (mailings/guard_rails.py) at 1,000,000 clients in 16 time zones.

Loads the clients (truncating the bench database's clients, mailings and messages), then times
`mailing_warnings` over filters and windows that reach every zone, some zones, or none of the
audience's: the last is the costly case, a walk of the (timezone, operator_code, tag) index.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice_bench python bench/guard_rails.py [--repeat N]
"""

import argparse
import time as clock
from datetime import UTC, datetime, time, timedelta

import harness

harness.setup_django()

from django.db import connection  # noqa: E402

from mailings import guard_rails  # noqa: E402

CLIENTS = 1_000_000
ZONES = [
    "Europe/Moscow", "Europe/Kaliningrad", "Asia/Yekaterinburg", "Asia/Omsk", "Asia/Novosibirsk",
    "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok", "Asia/Magadan",
    "Asia/Kamchatka", "Europe/Samara", "Etc/GMT-3", "UTC", "Asia/Tokyo", "America/New_York",
]  # fmt: skip
# 12:00-14:00 UTC on a January day. Operator code 900 + i % 100 and tag i % 10 share i's last
# digits with the zone (7i % 16): code 900's clients are in 4 zones, tag0's in 8, Kaliningrad in neither.
START = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
KALININGRAD_ONLY = {"send_window_start": time(14, 0), "send_window_end": time(14, 30)}
CASES = {
    "no filter, no window": {},
    "nobody matches": {"filter_operator_code": "900", "filter_tag": "tag1"},
    "window no zone reaches": {"send_window_start": time(9), "send_window_end": time(10)},
    "window one zone reaches, all clients": KALININGRAD_ONLY,
    "window one zone reaches, code 900 (none there)": {"filter_operator_code": "900", **KALININGRAD_ONLY},
    "window one zone reaches, tag0 of 100,000 (none there)": {"filter_tag": "tag0", **KALININGRAD_ONLY},
}


def load() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE mailings_message, mailings_messagecount, mailings_mailing, mailings_client "
            "RESTART IDENTITY CASCADE"
        )
        cursor.execute(
            "INSERT INTO mailings_client (phone_number, operator_code, tag, timezone, created_at, updated_at) "
            "SELECT '79' || lpad(i::text, 9, '0'), (900 + i %% 100)::text, 'tag' || (i %% 10), "
            "(%s::text[])[1 + (i * 7) %% 16], now(), now() FROM generate_series(1, %s) AS i",
            [ZONES, CLIENTS],
        )
        cursor.execute("VACUUM ANALYZE mailings_client")


def best_ms(values: dict, runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        started = clock.perf_counter()
        guard_rails.mailing_warnings(
            start_datetime=START, end_datetime=START + timedelta(hours=2), now=START - timedelta(days=1), **values
        )
        best = min(best, clock.perf_counter() - started)
    return best * 1000


def measure(figures: harness.Figures) -> None:
    print(f"mailing_warnings at {CLIENTS:,} clients in {len(ZONES)} zones; best of 5:")
    for name, values in CASES.items():
        print(f"  {name}: {figures.add(name, best_ms(values), 'ms', ',.1f'):,.1f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    harness.add_repeat_option(parser)
    args = parser.parse_args()
    harness.require_bench_database()
    load()
    harness.repeat(args.repeat, measure)


if __name__ == "__main__":
    main()
