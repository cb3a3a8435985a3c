"""What the benches share: Django set up for a run by hand, the *bench* database check, and
`--repeat N` (run the measurement N times, then print each figure's min / median / max).

The benches run as scripts (`python bench/send_throughput.py`), so this directory is
first on `sys.path` and they import this module as `harness`; no bench may take the name
of a module of the standard library (the statistics page's is `statistics_page.py`), or
it would be found first.
"""

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_django(**env: str) -> None:
    """Production settings, with what a run by hand on a bench database needs; `env` adds defaults."""
    sys.path.insert(0, str(ROOT))
    defaults = {
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
        "SECRET_KEY": "benchmark-only-key",
        "SECURE_SSL_REDIRECT": "0",  # in-process requests over plain HTTP
        "ALLOWED_HOSTS": "testserver",
        "LOG_LEVEL": "WARNING",
        # Keys and queues of its own: other work may share the Redis, and so may another bench.
        "CACHE_KEY_PREFIX": f"bench-{Path(sys.argv[0]).stem}",
        "CELERY_QUEUE": f"bench-{Path(sys.argv[0]).stem}",
        **env,
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    import django

    django.setup()


def require_bench_database() -> None:
    """The benches load, truncate or delete rows: never on a database that holds real ones."""
    from django.db import connection

    name = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql" or "bench" not in name:
        sys.exit(f"refusing to run on {connection.vendor} database {name!r}: use PostgreSQL and a *bench* database")


def best_ms(function: Callable[[], object], runs: int = 5) -> float:
    """The least time of `runs` calls of `function`, in milliseconds."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def add_repeat_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repeat", type=int, default=1, metavar="N", help="run the measurement N times; print min / median / max"
    )


class Figures:
    """The figures of one run, in the order they were measured, each with its unit and format."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[float, str, str]] = {}

    def add(self, name: str, value: float, unit: str = "", fmt: str = ",.0f") -> float:
        self.values[name] = (value, unit, fmt)
        return value


def repeat(times: int, measure: Callable[[Figures], None]) -> list[Figures]:
    """Run `measure` `times` times (it prints its own lines and adds its figures), then the summary."""
    runs = []
    for n in range(times):
        if times > 1:
            print(f"--- run {n + 1} of {times}", flush=True)
        figures = Figures()
        measure(figures)
        runs.append(figures)
    if times > 1:
        print(f"--- over {times} runs: min / median / max")
        for line in summary(runs):
            print(line)
    return runs


def summary(runs: list[Figures]) -> list[str]:
    lines = []
    for name, (_, unit, fmt) in runs[0].values.items():
        values = sorted(run.values[name][0] for run in runs if name in run.values)
        low, middle, high = (format(v, fmt) for v in (values[0], median(values), values[-1]))
        lines.append(f"{name}: {low} / {middle} / {high}{' ' + unit if unit else ''}")
    return lines


def median(values: list[float]) -> float:
    ordered, half = sorted(values), len(values) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2
