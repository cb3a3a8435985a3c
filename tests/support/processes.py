"""The product's processes started together for a test or a benchmark: the sandbox provider,
Celery workers, beat (built on backoffice/processes.py, which `make run` uses too)."""

import os
import socket
import sys
from pathlib import Path

from backoffice.processes import ManagedProcess, bound_socket

SANDBOX_LISTENS = r"Sandbox provider listening on (http://\S+)"
WORKER_READY = r" ready\.$"  # a Celery worker's "celery@host ready.", once its pool listens


def database_url() -> str:
    """The URL of the test database pytest-django created: the processes a test starts use it too."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def redis_env() -> dict[str, str]:
    """The Redis of this test run (REDIS_URL and CACHE_URL, 127.0.0.1 by backoffice/settings_test.py's
    defaults, a service container's name in the pipelines): the processes a test starts use it too."""
    return {"REDIS_URL": os.environ["REDIS_URL"], "CACHE_URL": os.environ["CACHE_URL"]}


class Cluster:
    """Starts and stops the processes of one test; every process it started is stopped."""

    def __init__(self, log_dir: Path, env: dict[str, str]):
        self.log_dir = log_dir
        self.env = env
        self.processes: list[ManagedProcess] = []
        self._sandbox_sockets: dict[str, socket.socket] = {}
        self._sandbox_urls: dict[str, str] = {}

    def start(self, name: str, args: list[str], pass_fds: tuple[int, ...] = ()) -> ManagedProcess:
        process = ManagedProcess(name, args, self.env, self.log_dir, pass_fds=pass_fds)
        self.processes.append(process)
        return process

    @property
    def sandbox_url(self) -> str:
        """Where the sandbox will listen, known before it starts (the workers' SENDING_API_URL): a
        socket bound here holds the port, refusing connections until `sandbox()` serves it."""
        return self.sandbox_url_of("sandbox")

    def sandbox_url_of(self, name: str) -> str:
        """The same for a sandbox of that name: a test of several providers runs one each."""
        if name not in self._sandbox_urls:
            self._sandbox_sockets[name] = bound_socket()
            self._sandbox_urls[name] = f"http://127.0.0.1:{self._sandbox_sockets[name].getsockname()[1]}"
        return self._sandbox_urls[name]

    def sandbox(self, *knobs: str, name: str = "sandbox") -> ManagedProcess:
        """The sandbox provider on `sandbox_url_of(name)`, once it listens."""
        self.sandbox_url_of(name)  # binds the socket
        sock = self._sandbox_sockets[name]
        process = self.start(
            name,
            [sys.executable, "manage.py", "sandbox_gateway", "--fd", str(sock.fileno()), "--seed", "7", *knobs],
            pass_fds=(sock.fileno(),),
        )
        process.wait_for_line(SANDBOX_LISTENS)
        sock.close()  # the sandbox's copy alone: its outage must close the port
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
        for sock in self._sandbox_sockets.values():
            sock.close()
        for process in reversed(self.processes):
            process.stop()
