"""Sending benchmark: end-to-end throughput against a bare client's ceiling, fan-out against raw
SQL, and a worker's memory. Run by hand, never part of `make test`:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice_bench_send .venv/bin/python bench/send_throughput.py

It empties that database's tables (it refuses a database whose name does not contain
"bench") and starts the sandbox provider. For each sandbox latency, --repeat times, it
measures a pair and prints it as it ends:

- the ceiling: --workers processes of a bare aiohttp client (bench/bare_client.py), each
  with SENDING_CONCURRENCY requests in flight on the session a worker process opens and
  the body a worker sends, posting --clients requests between them (bench/ceiling.py);
- the engine: a worker (a pool of --workers processes) and beat started for the run; once
  the worker says it is ready, a --clients mailing's messages per second from its
  creation to every message recorded sent, the worker's CPU time per message (all its
  processes) and its peak RSS (the largest of them).

Each pair prints both rates, their ratio, the worker's CPU per message and the bare
client's CPU per request; where PostgreSQL runs on this machine, also its CPU and the sandbox's
per message, and the best ratio they leave a worker as cheap as the bare client (machine_cpu).
Every run meets empty message tables, queues and cache and a sandbox whose counts were reset.
Then the fan-out of --fanout-clients against the raw
`INSERT ... SELECT`, and the worker's peak RSS through a --memory-clients mailing. The
worker's CPU time per message is the figure to compare changes by: the machine's speed
varies from run to run, and the throughput and the ceiling with it.

--baseline /path/to/other/checkout (a `git worktree` of another commit) adds, in each round,
another pair whose worker and beat run that checkout's code, first and second in turns:
before and after a change in one run, with the ratio of their CPU per message.

--text '{first_name|customer}, your code {contract}' adds, with the same worker after each plain
run, mailings of that personalised text to the same clients (each carries first_name and contract
attributes) interleaved with another plain one: the best rate and its worker CPU per message of
each kind, and personalised / plain. The requirement: personalised within 10% of plain.

--without-recorder starts the workers with the recorder off (bench/celery_without_recorder.py:
sent messages written at each batch's end only), so that its cost is the difference
between a run with it and one without.
"""

import argparse
import dataclasses
import os
import signal
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import harness

harness.setup_django(
    SENDING_API_TOKEN="bench-token", LOG_LEVEL="INFO"
)  # the log level of production: a failed request and each batch logged

import redis  # noqa: E402
from ceiling import Ceiling, bare_clients  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from machine_cpu import best_ratio, postgres_cpu_seconds, process_cpu_seconds  # noqa: E402

from backoffice.processes import ManagedProcess  # noqa: E402
from mailings.models import Mailing  # noqa: E402
from mailings.sending.config import SendingConfig  # noqa: E402
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
    """The cluster of the tests, whose workers may run without the recorder, from another checkout."""

    def __init__(self, log_dir: Path, env: dict[str, str], *, recorder: bool):
        super().__init__(log_dir, env)
        self.recorder = recorder
        self.checkout = ROOT  # where the next worker and beat start (--baseline: that checkout's code)

    def start(self, name: str, args: list[str], pass_fds: tuple[int, ...] = ()) -> ManagedProcess:
        if not self.recorder and args[1:3] == ["-m", "celery"] and "worker" in args:
            args = [args[0], str(self.checkout / "bench" / "celery_without_recorder.py"), *args[3:]]
        process = ManagedProcess(name, args, self.env, self.log_dir, cwd=self.checkout, pass_fds=pass_fds)
        self.processes.append(process)
        return process

    def stop_some(self, processes: list[ManagedProcess]) -> None:
        for process in processes:
            process.stop()
            self.processes.remove(process)


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


@dataclass
class EngineRun:
    seconds: float  # from creating the mailing to every message recorded sent
    cpu: float  # the worker's CPU seconds (all its processes) meanwhile
    peak: float  # the largest RSS of its processes, MB
    postgres: float | None = None  # PostgreSQL's CPU seconds meanwhile (None: it runs elsewhere)
    sandbox: float = 0.0  # the sandbox's CPU seconds meanwhile
    # --text: each kind's runs (seconds, CPU) in the same worker, the first plain one above included.
    kinds: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


def between_runs(cluster: BenchCluster) -> None:
    """Every run meets the same empty tables, queues and cache, and a sandbox that forgot the last run."""
    sql("TRUNCATE mailings_message, mailings_messagecount, mailings_mailing CASCADE")
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(
        settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_TICK_QUEUE
    )
    clear_cache()
    urllib.request.urlopen(urllib.request.Request(f"{cluster.sandbox_url}/stats/reset", method="POST"), timeout=10)


def started_worker(cluster: BenchCluster, workers: int, name: str = "worker") -> list[ManagedProcess]:
    """A worker and beat; returned once the worker said it is ready (its pool started and listening)."""
    worker = cluster.worker(name, concurrency=workers)
    beat = cluster.beat()
    worker.wait_for_line(WORKER_READY, timeout=120)
    return [worker, beat]


def engine_run(
    cluster: BenchCluster, args: argparse.Namespace, *, checkout: Path, name: str, sandbox_pid: int
) -> EngineRun:
    """A --clients mailing sent by a worker started for it from `checkout`, stopped after it."""
    between_runs(cluster)
    cluster.checkout = checkout
    processes = started_worker(cluster, args.workers, name)
    pids = [processes[0].process.pid]
    try:
        before, postgres_before, sandbox_before = (
            cpu_seconds(pids),
            postgres_cpu_seconds(),
            process_cpu_seconds(sandbox_pid),
        )
        seconds, peak = end_to_end(args.clients, f"bench latency {args.latency}", pids)
        postgres_after = postgres_cpu_seconds()
        run = EngineRun(
            seconds,
            cpu_seconds(pids) - before,
            peak,
            None if postgres_before is None or postgres_after is None else postgres_after - postgres_before,
            process_cpu_seconds(sandbox_pid) - sandbox_before,
        )
        if args.text and checkout == ROOT:
            # Interleaved personalised, plain, personalised after the first plain run (which warms the
            # worker up), each kind's best: the machine's pace drifts, and both meet it alike.
            run.kinds = {"plain": [(seconds, run.cpu)], "personalised": []}
            for kind in ("personalised", "plain", "personalised"):
                before = cpu_seconds(pids)
                text = args.text if kind == "personalised" else ""
                took, _ = end_to_end(args.clients, f"bench plain {len(run.kinds[kind])}", pids, text)
                run.kinds[kind].append((took, cpu_seconds(pids) - before))
            run.seconds, run.cpu = min(run.kinds["plain"])
    finally:
        cluster.stop_some(processes)
    return run


def measure_sending(runs: list[harness.Figures], args: argparse.Namespace, log_dir: Path) -> None:
    """For each latency, --repeat times: the ceiling, then the engine (and, with --baseline, the ceiling
    again and the baseline's engine, in turns first and second), each pair printed as it ends."""
    recorder = "off" if args.without_recorder else "on"
    for latency in [int(x) for x in args.latencies.split(",") if x]:
        args.latency = latency
        label = f"latency {latency} ms"
        cluster = BenchCluster(log_dir, dict(os.environ), recorder=not args.without_recorder)
        url = cluster.env["SENDING_API_URL"] = cluster.sandbox_url
        try:
            sandbox = cluster.sandbox("--latency-ms", str(latency), "--token", settings.SENDING_API_TOKEN)
            sandbox_pid = sandbox.process.pid
            make_clients(args.clients)
            settings.SENDING_API_URL = url
            gateway = dataclasses.replace(SendingConfig.from_settings().gateway, url=url)
            for n, figures in enumerate(runs):
                engines = [("", ROOT)] + ([("baseline ", args.baseline)] if args.baseline else [])
                for kind, checkout in engines if n % 2 == 0 else reversed(engines):
                    between_runs(cluster)
                    sandbox_before = process_cpu_seconds(sandbox_pid)
                    ceiling = bare_clients(gateway, requests=args.clients, processes=args.workers)
                    ceiling_sandbox = (process_cpu_seconds(sandbox_pid) - sandbox_before) / args.clients
                    run = engine_run(
                        cluster, args, checkout=checkout, name=f"worker-{(kind or 'this').strip()}-{n + 1}",
                        sandbox_pid=sandbox_pid,
                    )  # fmt: skip
                    report(figures, f"{label}: {kind}", args, ceiling, run, recorder, f"pair {n + 1} of {len(runs)}")
                    report_machine(figures, f"{label}: {kind}", args, ceiling, ceiling_sandbox, run)
                if args.baseline:
                    this, base = (figures.values[f"{label}: {k}worker CPU per message"][0] for k in ("", "baseline "))
                    figures.add(f"{label}: worker CPU per message, this / baseline", this / base * 100, "%")
                    print(f"{label}: worker CPU per message, this checkout / baseline {this / base:.0%}", flush=True)
        finally:
            cluster.stop()


def report_machine(
    figures: harness.Figures,
    prefix: str,
    args: argparse.Namespace,
    ceiling: Ceiling,
    ceiling_sandbox: float,
    run: EngineRun,
) -> None:
    """Where the CPU went, per message, and the best ratio a worker as cheap as the bare client could reach here."""
    if run.postgres is None:
        print(f"{prefix.rstrip()}: PostgreSQL runs on another machine: its CPU is not counted", flush=True)
        return
    postgres, sandbox = run.postgres / args.clients, run.sandbox / args.clients
    best = best_ratio(client=ceiling.cpu_per_request, sandbox=ceiling_sandbox, postgres=postgres)
    figures.add(f"{prefix}PostgreSQL CPU per message", postgres * 1e6, "µs")
    figures.add(f"{prefix}sandbox CPU per request (ceiling)", ceiling_sandbox * 1e6, "µs")
    figures.add(f"{prefix}best ratio this machine allows", best * 100, "%")
    print(
        f"{prefix.rstrip()} CPU per message: worker {run.cpu / args.clients * 1e6:,.0f} µs, PostgreSQL "
        f"{postgres * 1e6:,.0f} µs, sandbox {sandbox * 1e6:,.0f} µs; per request of the ceiling: client "
        f"{ceiling.cpu_per_request * 1e6:,.0f} µs, sandbox {ceiling_sandbox * 1e6:,.0f} µs; the best ratio a "
        f"worker as cheap as the bare client could reach on this machine: {best:.0%}",
        flush=True,
    )


def report(
    figures: harness.Figures,
    prefix: str,
    args: argparse.Namespace,
    ceiling: Ceiling,
    run: EngineRun,
    recorder: str,
    which: str,
) -> None:
    rate, per_message = args.clients / run.seconds, run.cpu / args.clients * 1e6
    figures.add(f"{prefix}end to end", rate, "msg/s")
    figures.add(f"{prefix}bare aiohttp client", ceiling.rate, "req/s")
    figures.add(f"{prefix}ratio", rate / ceiling.rate * 100, "%")
    figures.add(f"{prefix}worker CPU per message", per_message, "µs")
    figures.add(f"{prefix}bare client CPU per request", ceiling.cpu_per_request * 1e6, "µs")
    figures.add(f"{prefix}peak worker RSS", run.peak, "MB")
    print(
        f"{prefix.rstrip()} {which}: bare client {ceiling.rate:,.0f} req/s "
        f"({ceiling.cpu_per_request * 1e6:,.0f} µs CPU per request); engine {args.clients:,} messages in "
        f"{run.seconds:.1f} s = {rate:,.0f} msg/s; ratio {rate / ceiling.rate:.0%}; worker CPU {per_message:,.0f} µs "
        f"per message; peak worker RSS {run.peak:.0f} MB; recorder {recorder}",
        flush=True,
    )
    if run.kinds:
        personal_seconds, personal_cpu = min(run.kinds["personalised"])
        personal = args.clients / personal_seconds
        figures.add(f"{prefix}personalised end to end", personal, "msg/s")
        figures.add(f"{prefix}personalised / plain", personal / rate * 100, "%")
        figures.add(f"{prefix}personalised worker CPU per message", personal_cpu / args.clients * 1e6, "µs")
        print(
            f"{prefix.rstrip()} {which}: personalised {args.text!r}: {personal_seconds:.1f} s = "
            f"{personal:,.0f} msg/s; plain {rate:,.0f} msg/s; personalised / plain {personal / rate:.0%}; worker "
            f"CPU {personal_cpu / args.clients * 1e6:,.0f} µs per message (plain {per_message:,.0f}); runs (s): "
            f"plain {', '.join(f'{t:.1f}' for t, _ in run.kinds['plain'])}, "
            f"personalised {', '.join(f'{t:.1f}' for t, _ in run.kinds['personalised'])}",
            flush=True,
        )


def measure_the_rest(figures: harness.Figures, args: argparse.Namespace, log_dir: Path) -> None:
    """The fan-out against raw SQL, and a worker's memory through a --memory-clients mailing."""
    recorder = "off" if args.without_recorder else "on"
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
        cluster.env["SENDING_API_URL"] = cluster.sandbox_url
        try:
            cluster.sandbox("--token", settings.SENDING_API_TOKEN)
            make_clients(args.memory_clients)
            worker, _ = started_worker(cluster, args.workers)
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
    parser.add_argument(
        "--baseline", type=Path, help="a checkout (git worktree) whose worker runs too, in turns with this one's"
    )
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
    if args.baseline and not (args.baseline / "manage.py").is_file():
        sys.exit(f"--baseline {args.baseline}: not a checkout of the project (no manage.py)")
    print(f"machine: {os.cpu_count()} cores; workers: {args.workers} x {settings.SENDING_CONCURRENCY} in flight")
    runs = [harness.Figures() for _ in range(args.repeat)]
    measure_sending(runs, args, log_dir)
    for n, figures in enumerate(runs):
        if args.repeat > 1 and (args.fanout_clients or args.memory_clients):
            print(f"--- fan-out and memory, run {n + 1} of {args.repeat}", flush=True)
        measure_the_rest(figures, args, log_dir)
    if args.repeat > 1:
        print(f"--- over {args.repeat} runs: min / median / max")
        for line in harness.summary(runs):
            print(line)


if __name__ == "__main__":
    main()
