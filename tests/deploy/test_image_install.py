"""The image's install, replayed without Docker (no engine runs here): the Dockerfile's ENV and RUN
lines run in order in a fresh clone with a fresh virtualenv standing in for the image's Python, then
a worker and beat start from that virtualenv with docker-compose.yml's own commands and environment,
against the real Redis, and the tick that beat sends is run by the worker.

What this cannot see is the base image itself (python:3.11-slim): its Python is this machine's
3.11 here. What it does see is every package the image would lack, since pip installs nothing but
what the Dockerfile asks for.
"""

import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis

from backoffice.processes import ROOT, ManagedProcess, stop_together
from tests.newcomer import assert_runtime_only, fresh_clone, outside_env
from tests.support.compose import load_compose, service_environment
from tests.support.processes import redis_env

pytestmark = pytest.mark.image


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """[(INSTRUCTION, arguments)], continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines() if line.strip()]


def replay_dockerfile(app: Path, venv: Path) -> list[str]:
    """Runs the Dockerfile's RUN lines in `app` (its WORKDIR) with its ENV; returns the lines run.

    The virtualenv's bin comes first on PATH: the image's `pip` and `python` are its own Python's.
    Creating the image's user needs root and changes nothing the processes import: that line is
    the one not replayed. The WORKDIR and /tmp are the test's folders."""
    env = outside_env(PATH=f"{venv / 'bin'}:{outside_env()['PATH']}", VIRTUAL_ENV=str(venv))
    instructions = dockerfile_instructions((ROOT / "Dockerfile").read_text())
    workdir = next(args.strip() for instruction, args in instructions if instruction == "WORKDIR")
    # The image's WORKDIR and /tmp are the test's folders (two runs must not share a file), in one
    # pass so that neither replaces inside the other.
    folders = {workdir: str(app), "/tmp": str(app.parent)}
    in_image = re.compile(rf"(?<![\w/])({'|'.join(map(re.escape, folders))})(?=[/\s]|$)")
    ran = []
    for instruction, raw in instructions:
        args = in_image.sub(lambda match: folders[match[1]], raw)
        if instruction == "ENV":
            env.update(dict(pair.split("=", 1) for pair in shlex.split(args)))
        elif instruction == "RUN" and not args.startswith("useradd"):
            result = subprocess.run(["sh", "-c", args], cwd=app, env=env, capture_output=True, text=True)
            assert result.returncode == 0, f"RUN {args}\n{result.stdout}\n{result.stderr}"
            ran.append(args)
    return ran


def wait_for_line(process: ManagedProcess, pattern: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not re.search(pattern, process.log_path.read_text(errors="replace")):
        assert process.alive(), f"{process.name} exited:\n{process.tail()}"
        assert time.monotonic() < deadline, f"{process.name} never logged {pattern!r}:\n{process.tail()}"
        time.sleep(0.2)


def test_the_images_install_runs_a_worker_and_beat_that_tick(tmp_path):
    app = fresh_clone(tmp_path / "app")
    venv = tmp_path / "image-python"
    subprocess.run([outside_python(), "-m", "venv", str(venv)], check=True)

    ran = replay_dockerfile(app, venv)
    assert any("pip install" in line and "requirements.txt" in line for line in ran), ran
    assert_runtime_only(venv)
    assert (app / "static" / "staticfiles.json").exists()  # collectstatic ran with the image's packages

    compose = load_compose()
    run = f"image-{uuid.uuid4().hex[:8]}"
    given = {
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "backoffice.example.com",
        "POSTGRES_PASSWORD": "unused",
        "SENDING_API_URL": "http://127.0.0.1:9",
        "SENDING_API_TOKEN": "unused",
    }
    env = outside_env(PATH=f"{venv / 'bin'}:{outside_env()['PATH']}")
    env.update(service_environment(compose["x-app"], given))
    # This machine's services in place of the compose network's, and a queue of this test's own.
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **redis_env(),
        CACHE_KEY_PREFIX=run,
        CELERY_QUEUE=run,
        STATIC_ROOT=str(app / "static"),
    )
    services = compose["services"]
    migrate = subprocess.run(services["migrate"]["command"], cwd=app, env=env, capture_output=True, text=True)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr

    worker_command = [*services["worker"]["command"], "-n", f"{run}@%h"]
    worker = ManagedProcess("worker", worker_command, env, tmp_path, cwd=app)
    beat = ManagedProcess("beat", services["beat"]["command"], env, tmp_path, cwd=app)
    try:
        wait_for_line(worker, r" ready\.", 60)
        # The tick's periodic task, created by a migration, every 10 s: beat sends it, the worker runs it.
        wait_for_line(beat, r"Sending due task Process active mailings", 60)
        wait_for_line(worker, r"mailings\.tasks\.process_active_mailings\[[^\]]+\] succeeded", 30)
    finally:
        stop_together([worker, beat], timeout=20, signum=signal.SIGTERM)
        broker = redis.Redis.from_url(env["REDIS_URL"])
        for key in broker.scan_iter(match=f"*{run}*", count=1000):
            broker.delete(key)
    assert "Traceback" not in worker.log_path.read_text() + beat.log_path.read_text()


def outside_python() -> str:
    """The machine's own python3 (the one a newcomer's shell finds), not this test run's virtualenv."""
    found = subprocess.run(
        ["sh", "-c", "command -v python3"], env=outside_env(), capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found, "no python3 on PATH"
    assert not found.startswith(sys.prefix), found
    return found
