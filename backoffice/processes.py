"""Start and stop processes together, each in a process group of its own so that stopping it
stops its children (a prefork worker's pool): what `make run` (backoffice/devstack.py) is made of.
The tests and benchmarks build their clusters on it (tests/support/processes.py).
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A port free when asked, and free no longer once anything else binds it: only for a start that
    tries again on another port when its bind fails (devstack's redis-server)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bound_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A TCP socket bound (port 0: to a free port) but not listening: connections to it are refused
    until a server it is handed to (`pass_fds`) listens on it, and nobody else can take its port."""
    # No SO_REUSEADDR: on Linux two sockets that both set it may share a port while neither listens,
    # and most servers set it; without it here, no other bind to the port succeeds.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def port_is_free(host: str, port: int) -> bool:
    """Whether this port can be bound on that host now."""
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def wait_for_port(
    port: int, timeout: float = 15.0, *, host: str = "127.0.0.1", stop: Callable[[], bool] = lambda: False
) -> bool:
    """Wait until something listens on the port: True. False when `stop()` says to wait no more
    (it may also raise); TimeoutError at the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stop():
            return False
        with socket.socket() as sock:
            if sock.connect_ex((host, port)) == 0:
                return True
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout:.0f}s")


class ManagedProcess:
    """A child in a process group of its own, its output in a log file (or, with `echo`, on our
    standard output with its name before each line)."""

    def __init__(
        self,
        name: str,
        args: list[str],
        env: dict[str, str],
        log_dir: Path,
        echo: bool = False,
        cwd: Path = ROOT,
        pass_fds: tuple[int, ...] = (),
    ):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE if echo else self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=pass_fds,
        )
        if echo:
            threading.Thread(target=self._echo, name=f"echo-{name}", daemon=True).start()

    def _echo(self) -> None:
        prefix = f"{self.name:>8} | ".encode()
        for line in iter(self.process.stdout.readline, b""):
            with contextlib.suppress(ValueError, OSError):  # the log closed, or our stdout went away
                self._log.write(line)
                self._log.flush()  # for wait_for_line
                sys.stdout.buffer.write(prefix + line)
                sys.stdout.buffer.flush()

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_for_line(
        self, pattern: str, timeout: float = 30.0, *, stop: Callable[[], bool] = lambda: False
    ) -> re.Match | None:
        """Until a line of its output matches the regular expression: the match (a server saying it
        listens, and where). None when `stop()` says to wait no more (it may also raise); RuntimeError
        when the process exits first; TimeoutError at the timeout."""
        regex = re.compile(pattern.encode(), re.MULTILINE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            exited = not self.alive()
            match = regex.search(self.log_path.read_bytes())
            if match:
                return match
            if exited:
                raise RuntimeError(f"{self.name} exited with code {self.process.returncode} before saying {pattern!r}")
            if stop():
                return None
            time.sleep(0.05)
        raise TimeoutError(f"{self.name} did not say {pattern!r} in {timeout:.0f}s")

    def group_alive(self) -> bool:
        """Whether anything of its process group still runs (a pool child may outlive its parent).

        Zombies do not count: an orphan's is reaped by PID 1, which in a container may never do it.
        """
        if not Path("/proc").is_dir():  # not Linux: ask the kernel, zombies included
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return False
            return True
        return bool(self.group_pids())

    def group_pids(self) -> set[int]:
        """The processes of its group still running, zombies left out (Linux: read from /proc)."""
        pids = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    state, _, group = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
                except (OSError, ValueError):
                    continue  # gone meanwhile
                if int(group) == self.process.pid and state != "Z":
                    pids.add(int(entry.name))
        return pids

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL the whole process group: no warm shutdown, no cleanup."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 15.0) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def stop_together(processes: list[ManagedProcess], timeout: float = 10.0, signum: int = signal.SIGINT) -> list[str]:
    """Signal every process group at once, wait up to `timeout`, SIGKILL what is left.

    SIGINT by default, as a terminal's Ctrl-C would: a Celery worker then shuts down
    warm (its pool processes ignore SIGINT and finish their task), the others exit.
    Returns the names of the processes that had to be killed.
    """
    for process in processes:
        process.signal(signum)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(p.alive() or p.group_alive() for p in processes):
        for process in processes:
            process.process.poll()  # reap the leader so that its group can empty
        time.sleep(0.1)
    killed = []
    for process in processes:
        if process.alive() or process.group_alive():
            killed.append(process.name)
            process.signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.process.wait(5)
        process._log.close()
    return killed
