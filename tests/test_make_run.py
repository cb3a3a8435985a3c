"""`make run` as a new user runs it: a fresh clone, no virtualenv, the demo data, stopped by Ctrl-C.

Each test clones the checkout (tests/newcomer.py) and runs `make run` there with the machine's own
`python3`, so that `make run` creates the clone's `.venv` from requirements.txt alone, exactly as on
a machine that never saw the project: a package the product needs but only the test tools bring
makes these tests fail. Everything after that (migrations on a fresh SQLite file, the admin, the
demo data, the broker, the five processes) starts from nothing too.
"""

import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.newcomer import assert_runtime_only, fresh_clone, outside_env

pytestmark = pytest.mark.make_run
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


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
    """`make run` in its own process group, as a terminal starts it; it makes the clone's .venv."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            ["make", "run"], cwd=checkout, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait(predicate, timeout: float, what: str, log: Path, interval: float = 0.3, make: subprocess.Popen | None = None):
    """The predicate's first true value; fails at the timeout, or at once when `make` has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        exited = make is not None and make.poll() is not None
        try:
            value = predicate()
        except requests.RequestException:
            value = None
        if value:
            return value
        if exited:
            raise AssertionError(f"make run exited ({make.returncode}) before {what}\n--- make run ---\n{_tail(log)}")
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n--- make run ---\n{_tail(log)}")


def _kill_everything(make: subprocess.Popen, known: dict[int, str]) -> None:
    """After a failure: SIGKILL what `make run` started that still runs, wherever it went."""
    for pid in _still_running({**known, **_descendants(make.pid)}):
        os.kill(pid, signal.SIGKILL)
    if make.poll() is None:
        os.killpg(make.pid, signal.SIGKILL)
        make.wait(10)


def _web_address(log: Path) -> str | None:
    """Where `make run` says its web server listens: with PORT=0 the server took a free port."""
    said = re.search(r"Admin: (http://\S+?)/admin/", log.read_text(errors="replace"))
    return said and said.group(1)


def _tail(log: Path, lines: int = 60) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _sent(base: str) -> tuple[float, float, float]:
    """(messages sent, all messages, provider requests that sent) from /metrics, which loopback may read."""
    body = requests.get(f"{base}/metrics", timeout=5).text
    by_status = {m[0]: float(m[1]) for m in re.findall(r'^backoffice_messages\{status="(\w+)"\} (\S+)$', body, re.M)}
    requests_sent = sum(
        sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == "backoffice_provider_requests_total" and sample.labels.get("outcome") == "sent"
    )
    return by_status["sent"], sum(by_status.values()), requests_sent


def _redis_answers() -> bool:
    try:
        return redis.Redis.from_url(DEFAULT_REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def _forget_redis_keys(checkout: Path) -> None:
    """The keys a run on the machine's Redis left, all named after the checkout (see devstack)."""
    name = f"backoffice-{hashlib.sha1(str(checkout).encode()).hexdigest()[:8]}"
    for db in (0, 1):
        client = redis.Redis.from_url(f"redis://127.0.0.1:6379/{db}")
        for key in client.scan_iter(match=f"*{name}*", count=1000):
            client.delete(key)


# "auto" is the newcomer's case: Redis answers on 6379. Without it, `make run` starts a redis-server
# of its own, or falls back to the filesystem transport; each is forced here with BROKER.
@pytest.mark.parametrize("broker", ["auto", "redis-server", "filesystem"])
def test_make_run_serves_sends_the_demo_and_stops_everything_on_ctrl_c(tmp_path, broker):
    if broker == "auto" and not _redis_answers():
        pytest.skip(f"no Redis at {DEFAULT_REDIS}")
    if broker == "redis-server" and shutil.which("redis-server") is None:
        pytest.skip("no redis-server installed")
    checkout = fresh_clone(tmp_path / "checkout")
    env = outside_env(PORT="0", SANDBOX_PORT="0", DEMO="1")
    if broker != "auto":
        env["BROKER"] = broker
    log = tmp_path / "make-run.log"
    started = time.monotonic()
    make = _start_make_run(checkout, env, log)
    everything: dict[int, str] = {}
    try:
        # The first minute or so goes to creating the virtualenv and installing the lock.
        base = _wait(lambda: _web_address(log), 240, "the web server's address", log, make=make)
        login = requests.get(f"{base}/admin/login/", timeout=5)
        assert login.status_code == 200
        assert 'name="username"' in login.text
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ok"
        startup = time.monotonic() - started

        # The database is new: any message sent is progress from zero. Then more, unless all went already.
        first = _wait(lambda: (s := _sent(base)) and s[0] > 0 and s, 30, "the first messages sent", log, make=make)
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
        assert "pip install --quiet --require-hashes -r requirements.txt" in text  # its own virtualenv
        assert_runtime_only(checkout / ".venv")
        assert "Admin: http://127.0.0.1:" in text
        assert re.search(r"Admin login: admin / \S+", text)
        assert "Demo data: 3000 clients" in text
        assert {
            "auto": f"broker: Redis at {DEFAULT_REDIS}",
            "redis-server": "broker: a redis-server started here",
            "filesystem": "one machine only",
        }[broker] in text

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
        _kill_everything(make, everything)
        if broker == "auto":
            _forget_redis_keys(checkout)


def test_a_second_make_run_reuses_everything(tmp_path):
    """Warm start: the same clone started again installs nothing, migrates nothing and loads no demo
    data twice."""
    checkout = fresh_clone(tmp_path / "checkout")
    env = outside_env(DEMO="1", BROKER="filesystem")
    timings = []
    env.update({"PORT": "0", "SANDBOX_PORT": "0"})
    for _ in range(2):
        log = tmp_path / f"make-run-{len(timings)}.log"
        started = time.monotonic()
        make = _start_make_run(checkout, env, log)
        try:
            base = _wait(lambda log=log: _web_address(log), 240, "the web server's address", log, make=make)
            assert requests.get(f"{base}/healthz", timeout=5).ok
            timings.append(time.monotonic() - started)
            os.killpg(make.pid, signal.SIGINT)
            make.wait(30)
        finally:
            _kill_everything(make, {})
    text = log.read_text()
    assert "pip install" not in text
    assert "No migrations to apply." in text
    assert "Demo data: loaded already." in text
    assert "Created the development admin user" not in text
    print(f"make run: cold start {timings[0]:.1f}s, warm start {timings[1]:.1f}s")
