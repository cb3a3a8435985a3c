"""The product's processes started together for a test or a benchmark: the sandbox provider,
Celery workers, beat (built on backoffice/processes.py, which `make run` uses too)."""

import sys
from pathlib import Path

from backoffice.processes import ManagedProcess, wait_for_port


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
