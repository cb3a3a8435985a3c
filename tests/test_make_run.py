"""`make run` as a new user runs it: in a copy of the checkout, with the demo data, stopped by Ctrl-C.

The copy holds the checkout's files (tracked and new, as `git ls-files` lists them,
mtimes kept) and nothing else: no var/, no database, no .env. It reuses this test
run's virtualenv (`VENV=`): creating one is what `make test` itself just did, and
doing it again would add a minute of installing to prove nothing new. Everything
after that (migrations on a fresh SQLite file, the admin, the demo data, the broker,
the five processes) starts from nothing.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from backoffice.processes import ROOT, free_port

pytestmark = pytest.mark.make_run

# The variables the test settings put in this process's environment, and any a developer set:
# `make run` must start from its own defaults.
_NOT_INHERITED = re.compile(
    r"^(DJANGO_SETTINGS_MODULE|SECRET_KEY|DEBUG|DATABASE_URL|REDIS_URL|CACHE_URL|CACHE_KEY_PREFIX|CELERY_.*|"
    r"SENDING_.*|METRICS_.*|PORT|HOST|SANDBOX_PORT|BROKER|DEMO|VIRTUAL_ENV|PYTEST_.*)$"
)


def _copy_checkout(target: Path) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to know which files belong to it")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():  # a file deleted in the working tree is listed but gone
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)  # keeps mtimes: the venv's install stamp stays newer


def _process_table() -> dict[int, tuple[int, str]]:
    """{pid: (parent pid, start time)} of every process that runs (zombies are over)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if fields[0] != "Z":
                table[int(entry.name)] = (int(fields[1]), fields[19])
    return table


def _descendants(root: int) -> dict[int, str]:
    """{pid: start time} of every process below `root`."""
    table = _process_table()
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, started) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = started
                frontier.append(pid)
    return found


def _still_running(processes: dict[int, str]) -> list[int]:
    table = _process_table()
    return [pid for pid, started in processes.items() if pid in table and table[pid][1] == started]


def _start_make_run(checkout: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`make run` in its own process group (as a terminal starts it), with this test run's virtualenv."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            ["make", "run", f"VENV={sys.prefix}"],
            cwd=checkout, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def _wait(predicate, timeout: float, what: str, log: Path, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except requests.RequestException:
            value = None
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n--- make run ---\n{_tail(log)}")


def _tail(log: Path, lines: int = 60) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _sent(base: str) -> tuple[float, float, float]:
    """(messages sent, all messages, provider requests that sent) from /metrics, which loopback may read."""
    body = requests.get(f"{base}/metrics", timeout=5).text
    by_status = {m[0]: float(m[1]) for m in re.findall(r'^backoffice_messages\{status="(\w+)"\} (\S+)$', body, re.M)}
    requests_sent = re.search(r'^backoffice_provider_requests_total\{outcome="sent"\} (\S+)$', body, re.M)
    return by_status["sent"], sum(by_status.values()), float(requests_sent.group(1))


BROKERS = ["redis-server", "filesystem"] if shutil.which("redis-server") else ["filesystem"]


@pytest.mark.parametrize("broker", BROKERS)
def test_make_run_serves_sends_the_demo_and_stops_everything_on_ctrl_c(tmp_path, broker):
    checkout = tmp_path / "checkout"
    _copy_checkout(checkout)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not _NOT_INHERITED.match(k)}
    env.update({"PORT": str(port), "SANDBOX_PORT": str(free_port()), "DEMO": "1", "BROKER": broker})
    log = tmp_path / "make-run.log"
    started = time.monotonic()
    make = _start_make_run(checkout, env, log)
    everything: dict[int, str] = {}
    try:
        login = _wait(lambda: requests.get(f"{base}/admin/login/", timeout=2), 60, "the admin login page", log)
        assert login.status_code == 200
        assert 'name="username"' in login.text
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ok"
        startup = time.monotonic() - started

        # The database is new: any message sent is progress from zero. Then more, unless all went already.
        first = _wait(lambda: (s := _sent(base)) and s[0] > 0 and s, 30, "the first messages sent", log)
        if first[0] < first[1]:
            later = _wait(lambda: (s := _sent(base)) and s[0] > first[0] and s, 30, "more messages sent", log)
        else:
            later = first
        # Every sent message took a provider request. Sent rows are written as the batch goes on;
        # the requests' tally is added when the batch ends: wait for the batches in hand to end.
        counted = _wait(lambda: (s := _sent(base)) and s[2] >= s[0] >= later[0] and s, 30, "the requests counted", log)
        assert counted[2] >= counted[0] > 0
        assert later[1] == 2700  # the running demo mailing's audience (the other has not started)

        text = log.read_text()
        assert "Admin: http://127.0.0.1:" in text
        assert re.search(r"Admin login: admin / \S+", text)
        assert "Demo data: 3000 clients" in text
        if broker == "filesystem":
            assert "one machine only" in text

        everything = _descendants(make.pid)
        names = {(Path("/proc") / str(pid) / "cmdline").read_bytes() for pid in everything}
        assert any(b"celery" in n and b"worker" in n for n in names)
        assert any(b"celery" in n and b"beat" in n for n in names)
        assert any(b"sandbox_gateway" in n for n in names)
        assert any(b"runserver" in n for n in names)
        assert len(everything) >= 6  # devstack, sandbox, worker and its pool, beat, web (, redis)

        os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        make.wait(30)
        _wait(lambda: not _still_running(everything), 15, "every process to exit", log, interval=0.2)
        text = log.read_text()
        assert "make run | stopped" in text
        assert "killed after" not in text  # each stopped by itself, none needed SIGKILL
        print(f"make run ({broker}): ready in {startup:.1f}s, stopped in {time.monotonic() - started:.1f}s total")
    finally:
        for pid in _still_running({**everything, **_descendants(make.pid)}):
            os.kill(pid, signal.SIGKILL)
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait(10)


def test_a_second_make_run_reuses_everything(tmp_path):
    """Warm start: the same copy started again migrates nothing and loads no demo data twice."""
    checkout = tmp_path / "checkout"
    _copy_checkout(checkout)
    env = {k: v for k, v in os.environ.items() if not _NOT_INHERITED.match(k)}
    env.update({"DEMO": "1", "BROKER": "filesystem"})
    timings = []
    for _ in range(2):
        port = free_port()
        env.update({"PORT": str(port), "SANDBOX_PORT": str(free_port())})
        log = tmp_path / f"make-run-{len(timings)}.log"
        started = time.monotonic()
        make = _start_make_run(checkout, env, log)
        try:
            _wait(lambda p=port: requests.get(f"http://127.0.0.1:{p}/healthz", timeout=2).ok, 60, "the web", log)
            timings.append(time.monotonic() - started)
        finally:
            os.killpg(make.pid, signal.SIGINT)
            make.wait(30)
    text = log.read_text()
    assert "No migrations to apply." in text
    assert "Demo data: loaded already." in text
    assert "Created the development admin user" not in text
    assert timings[1] < 15, timings
    print(f"make run: cold start {timings[0]:.1f}s, warm start {timings[1]:.1f}s")
