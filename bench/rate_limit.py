"""Rate-limit benchmark: what the provider sees each second when workers share its limit in SMS parts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice_bench_limiter .venv/bin/python bench/rate_limit.py

It empties that database's tables (it refuses a database whose name does not contain
"bench"), starts the sandbox provider, a worker of --workers processes and beat, and sends
mailings of a one-part and a three-part text together, more than the limit lets through in
--seconds, with `default` limited to --rate parts per second. The sandbox counts the parts it
accepts each second (`GET /stats/seconds`); the bench prints, over the whole seconds of the
run (the first and the last, partial, left out), the mean parts per second, the busiest and
the quietest second, each against the limit. First, what one message's reservation costs
(a script call to Redis: the worker's event loop waits for it). The requirement: mean within 4% of the limit,
no second above 110%.

Then two providers at once: two sandboxes, `default` at --rate and `second` at --second-rate,
each served by half the worker processes (the second group started by
bench/celery_as_provider.py, which names the provider that routing would choose), and the
same figures for each.
"""

import argparse
import os
import signal
import sys
import time
from pathlib import Path

import harness

harness.setup_django(SENDING_API_TOKEN="bench-token", LOG_LEVEL="INFO")  # as in production

import redis  # noqa: E402
import requests  # noqa: E402
from django.conf import settings  # noqa: E402

from mailings import services  # noqa: E402
from mailings.models import Mailing  # noqa: E402
from mailings.sending.limiter import BURST_SECONDS, buckets_from_settings  # noqa: E402
from mailings.sending.processor import mailings_process  # noqa: E402
from tests.support.processes import WORKER_READY, Cluster  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from send_throughput import clear_cache, make_clients, new_mailing, reset_database  # noqa: E402

ROOT = harness.ROOT
SHOW_SERIES = "--series" in sys.argv
TEXTS = {1: "Rate bench, one part", 3: "Rate bench, three parts " + "x" * 400}  # GSM-7: 153 a part


class ProviderCluster(Cluster):
    """The tests' cluster, whose workers named in `as_provider` send as that provider."""

    as_provider: dict[str, str] = {}

    def start(self, name, args, pass_fds=()):
        if name in self.as_provider and args[1:3] == ["-m", "celery"]:
            args = [args[0], str(ROOT / "bench" / "celery_as_provider.py"), *args[3:]]
            env, self.env = self.env, {**self.env, **self.as_provider[name]}
            try:
                return super().start(name, args, pass_fds)
            finally:
                self.env = env
        return super().start(name, args, pass_fds)


def reservation_cost(n: int = 5000) -> tuple[float, float]:
    """One message's reservation (one script call to Redis), alone in a loop: (µs wall, µs CPU)."""
    buckets = buckets_from_settings()
    key = "bench-reservation-cost"
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        buckets.reserve(key, interval=1e-6, parts=1, burst=BURST_SECONDS, max_wait=60)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    buckets.client.delete(f"{buckets.prefix}:limiter:{key}")
    return wall / n * 1e6, cpu / n * 1e6


def seconds_summary(url: str, rate: float, seconds: int) -> dict[str, float]:
    # The whole seconds of the run: the first (partial: the workers start) and the tail left out.
    series = requests.get(f"{url}/stats/seconds", timeout=10).json()[1:seconds]
    parts = [second["parts"] for second in series]
    return {
        "series": parts,
        "seconds": len(parts),
        "mean": sum(parts) / len(parts),
        "max": max(parts),
        "min": min(parts),
        "requests": sum(second["requests"] for second in series) / len(parts),
        "rate": rate,
    }


def line(label: str, s: dict[str, float]) -> str:
    return (
        f"{label}: limit {s['rate']:g} parts/s over {s['seconds']} s: mean {s['mean']:.1f} parts/s "
        f"({s['mean'] / s['rate']:.1%}), busiest second {s['max']} ({s['max'] / s['rate']:.0%}), "
        f"quietest {s['min']} ({s['min'] / s['rate']:.0%}); {s['requests']:.1f} requests/s"
        + (f"\n  parts each second: {' '.join(map(str, s['series']))}" if SHOW_SERIES else "")
    )


def run(args, log_dir: Path, providers: list[tuple[str, float]]) -> dict[str, dict[str, float]]:
    """Send with each provider limited as given, for args.seconds; the sandboxes' summaries."""
    reset_database()
    clear_cache()
    cluster = ProviderCluster(log_dir, dict(os.environ))
    sandboxes = {}
    try:
        for name, rate in providers:
            sandbox = Cluster(log_dir, dict(os.environ))  # just for its socket and sandbox process
            cluster.processes.append(sandbox.sandbox("--token", settings.SENDING_API_TOKEN))
            sandboxes[name] = (sandbox.sandbox_url, rate)
        default_url, default_rate = sandboxes[providers[0][0]]
        cluster.env.update(SENDING_API_URL=default_url, SENDING_PARTS_PER_SECOND=str(default_rate))
        ProviderCluster.as_provider = {}
        for name, (url, rate) in list(sandboxes.items())[1:]:
            prefix = f"SENDING_PROVIDER_{name.upper()}"
            ProviderCluster.as_provider[f"worker-{name}"] = {
                "BENCH_PROVIDER": name,
                "SENDING_API_URL": url,
                "SENDING_PROVIDERS": name,
                f"{prefix}_URL": url,
                f"{prefix}_TOKEN": settings.SENDING_API_TOKEN,
                f"{prefix}_PARTS_PER_SECOND": str(rate),
            }
        per_group = args.workers // len(providers)
        workers = [cluster.worker(f"worker-{name}", concurrency=per_group) for name, _ in providers]
        cluster.beat()
        for worker in workers:
            worker.wait_for_line(WORKER_READY, timeout=120)
        # More parts than the limits let through in the time: the senders always have work waiting.
        total_rate = sum(rate for _, rate in providers)
        make_clients(int(total_rate * args.seconds / 4 * 1.5) + 1000)
        mailings = [new_mailing(TEXTS[1]), new_mailing(TEXTS[3])]
        mailings_process()
        time.sleep(args.seconds + 2)
        for mailing in mailings:
            services.mailing_cancel(mailing=Mailing.objects.get(pk=mailing.pk))
        return {name: seconds_summary(url, rate, args.seconds) for name, (url, rate) in sandboxes.items()}
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rate", type=float, default=200, help="default's limit, parts per second")
    parser.add_argument("--second-rate", type=float, default=50, help="the second provider's limit; 0 skips")
    parser.add_argument("--workers", type=int, default=4, help="worker processes in all")
    parser.add_argument("--series", action="store_true", help="print the parts of each second too")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))

    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(
        settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_TICK_QUEUE
    )
    log_dir = ROOT / "var" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {os.cpu_count()} cores; {args.workers} worker processes x {settings.SENDING_CONCURRENCY} in flight"
    )
    wall, cpu = reservation_cost()
    print(f"one reservation (a script call to Redis, alone in a loop): {wall:.0f} µs, {cpu:.0f} µs of CPU", flush=True)
    one = run(args, log_dir, [("default", args.rate)])
    print(line(f"one provider, {args.workers} processes", one["default"]), flush=True)
    if args.second_rate:
        two = run(args, log_dir, [("default", args.rate), ("second", args.second_rate)])
        for name, summary in two.items():
            print(line(f"two providers at once, {name} ({args.workers // 2} processes)", summary), flush=True)


if __name__ == "__main__":
    main()
