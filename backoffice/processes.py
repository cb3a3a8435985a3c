"""Start and stop the product's processes together: the sandbox provider, Celery workers, beat.

Used by the integration tests and the benchmarks; every process runs in its own
process group so that stopping it stops its children (a prefork worker's pool).
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


class ManagedProcess:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def alive(self) -> bool:
        return self.process.poll() is None

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


class Cluster:
    """Starts and stops the processes of one test; every process it started is stopped."""

    def __init__(self, log_dir: Path, env: dict[str, str]):
        self.log_dir = log_dir
        self.env = env
        self.processes: list[ManagedProcess] = []

    def start(self, name: str, args: list[str]) -> ManagedProcess:
        process = ManagedProcess(name, args, self.env, self.log_dir)
        self.processes.append(process)
        return process

    def sandbox(self, port: int, *knobs: str) -> ManagedProcess:
        process = self.start(
            "sandbox", [sys.executable, "manage.py", "sandbox_gateway", "--port", str(port), "--seed", "7", *knobs]
        )
        wait_for_port(port)
        return process

    def worker(self, name: str, concurrency: int = 1) -> ManagedProcess:
        return self.start(
            name,
            [
                sys.executable, "-m", "celery", "-A", "backoffice", "worker",
                "-c", str(concurrency), "-n", f"{name}@%h",
                "--without-gossip", "--without-mingle", "--loglevel", "INFO",
            ],
        )  # fmt: skip

    def beat(self) -> ManagedProcess:
        return self.start(
            "beat",
            [
                sys.executable, "-m", "celery", "-A", "backoffice", "beat",
                "-S", "django_celery_beat.schedulers:DatabaseScheduler", "--max-interval", "1", "--loglevel", "INFO",
            ],
        )  # fmt: skip

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
