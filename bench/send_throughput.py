"""Sending benchmark: end-to-end throughput against the raw HTTP ceiling, fan-out against raw SQL,
and a worker's memory. Run by hand, never part of `make test`:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice_bench_send .venv/bin/python bench/send_throughput.py

It empties that database's tables (it refuses a database whose name does not contain
"bench"), starts the sandbox provider, a worker (a pool of --workers processes) and
beat, and prints, for each sandbox latency, a --clients mailing's messages per second
from its creation to every message recorded sent, a bare aiohttp client's requests per
second against the same sandbox, the worker's CPU time per message and its peak RSS
(the largest of its processes); then the fan-out of --fanout-clients against the raw
`INSERT ... SELECT`, and the worker's peak RSS through a --memory-clients mailing. The
worker's CPU time per message is the figure to compare changes by: the machine's speed
varies from run to run, and the throughput and the ceiling with it.

--text '{first_name|customer}, your code {contract}' adds, in the same cluster after each plain
run, mailings of that personalised text to the same clients (each carries first_name and contract
attributes) interleaved with another plain one: the best rate and its worker CPU per message of
each kind, and personalised / plain. The requirement: personalised within 10% of plain.

--without-recorder starts the workers with the recorder off (bench/celery_without_recorder.py:
sent messages written at each batch's end only), so that its cost is the difference
between a run with it and one without.
"""

import argparse
import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import harness

harness.setup_django(
    SENDING_API_TOKEN="bench-token", LOG_LEVEL="INFO"
)  # every provider request logged, as in production

import aiohttp  # noqa: E402
import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from backoffice.processes import ManagedProcess  # noqa: E402
from mailings.models import Mailing  # noqa: E402
from mailings.sending.fanout import fan_out  # noqa: E402
from mailings.sending.processor import mailings_process  # noqa: E402
from tests.support.processes import WORKER_READY, Cluster  # noqa: E402

ROOT = harness.ROOT


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def scalar(statement: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()[0]


def reset_database() -> None:
    harness.require_bench_database()
    call_command("migrate", verbosity=0)
    sql("TRUNCATE mailings_message, mailings_messagecount, mailings_mailing, mailings_client RESTART IDENTITY CASCADE")


def clear_cache() -> None:
    """Forget this bench's cache keys (circuit, dispatch lock, provider tally): only its own
    prefix's, as others may share the Redis (clearing the cache would empty the whole database)."""
    options = settings.CACHES["default"]
    location = options.get("LOCATION")
    if not (options["BACKEND"].endswith("RedisCache") and isinstance(location, str)):
        cache.clear()
        return
    client = redis.Redis.from_url(location)
    for key in client.scan_iter(f"{options['KEY_PREFIX']}:*"):
        client.delete(key)


def make_clients(n: int) -> None:
    sql("TRUNCATE mailings_message, mailings_messagecount, mailings_mailing, mailings_client RESTART IDENTITY CASCADE")
    sql(
        "INSERT INTO mailings_client (phone_number, operator_code, tag, timezone, created_at, updated_at) "
        "SELECT '79' || lpad(i::text, 9, '0'), '9' || lpad((i %% 100)::text, 2, '0'), 'bench', 'Europe/Moscow', "
        "now(), now() FROM generate_series(1, %s) AS i",
        [n],
    )
    # What a personalised text names (--text): every client carries them; a plain text ignores them.
    sql(
        "UPDATE mailings_client SET attributes = jsonb_build_object('first_name', 'Name' || id, 'contract', "
        "'C-' || lpad(id::text, 8, '0')) WHERE id <= %s",
        [n],
    )
    sql("VACUUM ANALYZE mailings_client")


def new_mailing(text: str, *, start_in: float = 0, hours: float = 2) -> Mailing:
    now = timezone.now() + timezone.timedelta(seconds=start_in)
    return Mailing.objects.create(
        start_datetime=now, end_datetime=now + timezone.timedelta(hours=hours), message_text=text
    )


async def raw_ceiling(url: str, n: int, in_flight: int) -> float:
    """A bare aiohttp client posting n requests, in_flight at a time: requests per second."""
    connector = aiohttp.TCPConnector(limit=in_flight)
    headers = {"Authorization": f"Bearer {settings.SENDING_API_TOKEN}"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        next_id = iter(range(10**9, 10**9 + n))

        async def lane():
            for message_id in next_id:
                body = {"id": message_id, "phone": 79000000000 + message_id % 10**9, "text": "ceiling"}
                async with session.post(f"{url}/send/{message_id}", json=body) as response:
                    await response.read()

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(in_flight)))
        return n / (time.perf_counter() - started)


def sent_count(mailing: Mailing) -> int:
    return scalar("SELECT count(*) FROM mailings_message WHERE mailing_id = %s AND status = 'sent'", [mailing.pk])


def rss_mb(pids: list[int]) -> float:
    """Largest resident set among the given processes and their children (a prefork pool), in MB."""
    best = 0
    for pid in pids:
        for member in [pid, *children(pid)]:
            try:
                for line in Path(f"/proc/{member}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        best = max(best, int(line.split()[1]))
            except FileNotFoundError:
                continue
    return best / 1024


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) used so far by the given processes and their children."""
    total = 0
    for pid in pids:
        for member in [pid, *children(pid)]:
            try:
                fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat
    return total / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    try:
        found = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []
    return found + [grandchild for child in found for grandchild in children(child)]


class BenchCluster(Cluster):
    """The cluster of the tests, whose workers may run without the recorder."""

    def __init__(self, log_dir: Path, env: dict[str, str], *, recorder: bool):
        super().__init__(log_dir, env)
        self.recorder = recorder

    def start(self, name: str, args: list[str], pass_fds: tuple[int, ...] = ()) -> ManagedProcess:
        if not self.recorder and args[1:3] == ["-m", "celery"] and "worker" in args:
            args = [args[0], str(ROOT / "bench" / "celery_without_recorder.py"), *args[3:]]
        return super().start(name, args, pass_fds)


def end_to_end(n: int, label: str, memory_pids: list[int], text: str = "") -> tuple[float, float]:
    """Seconds from creating a mailing to all n messages recorded sent, and the peak worker RSS."""
    mailing = new_mailing(text or label)
    started = time.perf_counter()
    mailings_process()  # the tick, here and now (saving it in the admin asks a worker for one); beat goes on
    peak = 0.0
    while (done := sent_count(mailing)) < n:
        peak = max(peak, rss_mb(memory_pids))
        if time.perf_counter() - started > 3600:
            sys.exit(f"{label}: only {done}/{n} sent after an hour")
        time.sleep(0.25)
    return time.perf_counter() - started, peak


def fanout_comparison(n: int) -> tuple[float, float]:
    make_clients(n)
    raw_mailing, ours = new_mailing("raw fan-out"), new_mailing("fan-out")
    timings = {"raw": [], "ours": []}
    for _ in range(2):
        for kind in ("raw", "ours"):
            sql("TRUNCATE mailings_message, mailings_messagecount")
            started = time.perf_counter()
            if kind == "raw":
                sql(
                    "INSERT INTO mailings_message (mailing_id, client_id, phone_number, status, attempts, "
                    "next_attempt_at, created_at, last_error) SELECT %s, id, phone_number, 'pending', 0, now(), "
                    "now(), '' FROM mailings_client",
                    [raw_mailing.pk],
                )
            else:
                created = fan_out(mailing=ours, now=timezone.now())
                assert created == n, created
            timings[kind].append(time.perf_counter() - started)
    sql("TRUNCATE mailings_message, mailings_messagecount")
    return min(timings["raw"]), min(timings["ours"])


def started_worker(cluster: BenchCluster, workers: int):
    worker = cluster.worker("worker", concurrency=workers)
    cluster.beat()
    worker.wait_for_line(WORKER_READY, timeout=120)  # its pool started and listening: the clock may start
    return worker


def measure(figures: harness.Figures, args: argparse.Namespace, log_dir: Path) -> None:
    in_flight = args.workers * settings.SENDING_CONCURRENCY
    recorder = "off" if args.without_recorder else "on"
    for latency in [int(x) for x in args.latencies.split(",") if x]:
        cluster = BenchCluster(log_dir, dict(os.environ), recorder=not args.without_recorder)
        url = cluster.env["SENDING_API_URL"] = cluster.sandbox_url
        try:
            cluster.sandbox("--latency-ms", str(latency), "--token", settings.SENDING_API_TOKEN)
            ceiling = asyncio.run(raw_ceiling(url, args.clients, in_flight))
            make_clients(args.clients)
            settings.SENDING_API_URL = url
            worker = started_worker(cluster, args.workers)
            cpu_before = cpu_seconds([worker.process.pid])
            seconds, peak = end_to_end(args.clients, f"bench latency {latency}", [worker.process.pid])
            cpu = cpu_seconds([worker.process.pid]) - cpu_before
            if args.text:
                # Interleaved personalised, plain, personalised after the first plain run (which warms the
                # worker up), each kind's best: the machine's pace drifts, and both meet it alike.
                runs = {"plain": [(seconds, cpu)], "personalised": []}
                for kind in ("personalised", "plain", "personalised"):
                    cpu_before = cpu_seconds([worker.process.pid])
                    text = args.text if kind == "personalised" else ""
                    took, _ = end_to_end(args.clients, f"bench plain {len(runs[kind])}", [worker.process.pid], text)
                    runs[kind].append((took, cpu_seconds([worker.process.pid]) - cpu_before))
                seconds, cpu = min(runs["plain"])
                personal_seconds, personal_cpu = min(runs["personalised"])
        finally:
            cluster.stop()
        rate = args.clients / seconds
        label = f"latency {latency} ms"
        figures.add(f"{label}: end to end", rate, "msg/s")
        figures.add(f"{label}: bare aiohttp client", ceiling, "req/s")
        figures.add(f"{label}: ratio", rate / ceiling * 100, "%")
        figures.add(f"{label}: worker CPU per message", cpu / args.clients * 1e6, "µs")
        figures.add(f"{label}: peak worker RSS", peak, "MB")
        print(
            f"{label:>14}: {args.clients:,} messages end-to-end in {seconds:.1f} s = {rate:,.0f} msg/s; "
            f"raw aiohttp ceiling {ceiling:,.0f} req/s; ratio {rate / ceiling:.0%}; "
            f"worker CPU {cpu / args.clients * 1e6:,.0f} µs per message; peak worker RSS {peak:.0f} MB; "
            f"recorder {recorder}",
            flush=True,
        )
        if args.text:
            personal = args.clients / personal_seconds
            figures.add(f"{label}: personalised end to end", personal, "msg/s")
            figures.add(f"{label}: personalised / plain", personal / rate * 100, "%")
            figures.add(f"{label}: personalised worker CPU per message", personal_cpu / args.clients * 1e6, "µs")
            print(
                f"{label:>14}: personalised {args.text!r}: {personal_seconds:.1f} s = {personal:,.0f} msg/s; "
                f"plain {rate:,.0f} msg/s; personalised / plain {personal / rate:.0%}; worker CPU "
                f"{personal_cpu / args.clients * 1e6:,.0f} µs per message (plain {cpu / args.clients * 1e6:,.0f}); "
                f"runs (s): plain {', '.join(f'{t:.1f}' for t, _ in runs['plain'])}, "
                f"personalised {', '.join(f'{t:.1f}' for t, _ in runs['personalised'])}",
                flush=True,
            )

    if args.fanout_clients:
        raw, ours = fanout_comparison(args.fanout_clients)
        figures.add("fan-out", ours, "s", ".2f")
        figures.add("fan-out: raw INSERT ... SELECT", raw, "s", ".2f")
        figures.add("fan-out: ratio", ours / raw, "x", ".2f")
        print(
            f"fan-out of {args.fanout_clients:,} clients: {ours:.2f} s; raw INSERT ... SELECT {raw:.2f} s; "
            f"ratio {ours / raw:.2f}x",
            flush=True,
        )

    if args.memory_clients:
        cluster = BenchCluster(log_dir, dict(os.environ), recorder=not args.without_recorder)
        url = cluster.env["SENDING_API_URL"] = cluster.sandbox_url
        try:
            cluster.sandbox("--token", settings.SENDING_API_TOKEN)
            make_clients(args.memory_clients)
            worker = started_worker(cluster, args.workers)
            seconds, peak = end_to_end(args.memory_clients, "bench memory", [worker.process.pid])
        finally:
            cluster.stop()
        figures.add(f"{args.memory_clients:,}-client mailing: peak worker RSS", peak, "MB")
        print(
            f"{args.memory_clients:,}-client mailing: {seconds:.0f} s ({args.memory_clients / seconds:,.0f} msg/s); "
            f"peak worker RSS {peak:.0f} MB; recorder {recorder}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--latencies", default="0,100", help="sandbox latencies to run, in ms")
    parser.add_argument("--fanout-clients", type=int, default=1_000_000, help="0 skips")
    parser.add_argument("--memory-clients", type=int, default=300_000, help="0 skips")
    parser.add_argument("--workers", type=int, default=4, help="worker processes (prefork pool size)")
    parser.add_argument("--text", default="", help="a personalised text run after each plain one, e.g. '{a|b}'")
    parser.add_argument("--without-recorder", action="store_true", help="sent messages written at each batch's end")
    harness.add_repeat_option(parser)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # stop the processes it started, too

    reset_database()
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(
        settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_TICK_QUEUE
    )
    clear_cache()
    log_dir = ROOT / "var" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores; workers: {args.workers} x {settings.SENDING_CONCURRENCY} in flight")
    harness.repeat(args.repeat, lambda figures: measure(figures, args, log_dir))


if __name__ == "__main__":
    main()
