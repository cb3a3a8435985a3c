"""Where a run's CPU goes on this machine: the worker, PostgreSQL, the sandbox.

On a machine whose cores the worker shares with PostgreSQL and the provider's stand-in,
the end-to-end rate is the cores divided by everyone's CPU per message, and the bare
client's rate the cores divided by its own and the sandbox's CPU per request. So

    ratio ≤ (client + sandbox) / (client + sandbox + PostgreSQL)

even for a worker that cost no more than the bare client: `best_ratio`. PostgreSQL's share
is read from /proc when it runs here (its live processes, and what its postmaster reaped
from backends that ended); elsewhere it is None.
"""

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def _command(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0].decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


def postgres_cpu_seconds() -> float | None:
    """CPU seconds (user + system) PostgreSQL's processes on this machine have used, None if it has none."""
    total, found = 0, False
    for pid in filter(str.isdigit, os.listdir("/proc")):
        command = _command(pid)
        postmaster = command.endswith("/postgres") or command == "postgres"
        if not (postmaster or command.startswith("postgres:")):
            continue
        fields = _stat(pid)
        if fields is None:
            continue
        found = True
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if postmaster:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime: its backends that ended
    return total / TICKS if found else None


def process_cpu_seconds(pid: int) -> float:
    fields = _stat(str(pid))
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / TICKS


def best_ratio(*, client: float, sandbox: float, postgres: float) -> float:
    """The highest engine / ceiling ratio this machine allows with PostgreSQL's CPU per message
    `postgres`, for a worker no costlier than the bare client (all three per message, any unit)."""
    return (client + sandbox) / (client + sandbox + postgres)
