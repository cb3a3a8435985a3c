"""The ceiling of bench/send_throughput.py: bare aiohttp clients in the engine's shape.

As many processes as the worker has (`--workers`), each with SENDING_CONCURRENCY requests in
flight on the session a worker process opens (bench/bare_client.py), against the same sandbox.
Each process opens its session and says "ready"; the clock starts when all have, and the same
"go" reaches them all; it stops when the last has posted its share.
"""

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mailings.gateway import GatewayConfig

BARE_CLIENT = Path(__file__).resolve().parent / "bare_client.py"


@dataclass(frozen=True)
class Ceiling:
    rate: float  # requests per second, all processes together
    cpu_per_request: float  # seconds of CPU, all processes together, per request


def bare_clients(config: GatewayConfig, *, requests: int, processes: int, first_id: int = 10**12) -> Ceiling:
    shares = [requests // processes + (1 if n < requests % processes else 0) for n in range(processes)]
    started_ids = [first_id + sum(shares[:n]) for n in range(processes)]
    timeouts = [str(config.concurrency), str(config.connect_timeout), str(config.read_timeout)]
    clients = [
        subprocess.Popen(
            [sys.executable, str(BARE_CLIENT), config.url, config.token, str(share), str(first), *timeouts],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for share, first in zip(shares, started_ids, strict=True)
    ]
    try:
        for client in clients:
            _expect(client, "ready")
        started = time.perf_counter()
        for client in clients:
            client.stdin.write("go\n")
            client.stdin.flush()
        cpu = sum(float(_expect(client, "done").split()[1]) for client in clients)
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            if client.poll() is None:
                client.kill()
            client.wait()
    return Ceiling(requests / elapsed, cpu / requests)


def _expect(client: subprocess.Popen, word: str) -> str:
    line = client.stdout.readline()
    if not line.startswith(word):
        sys.exit(f"a bare client said {line!r} (exit code {client.poll()}) instead of {word!r}")
    return line
