"""`make run`: the whole back-office on one machine, in the foreground, stopped together by Ctrl-C.

    python -m backoffice.devstack

It is over 300 lines because it is one sequence read top to bottom (broker, provider, database,
processes, stop), each step a short method.

1. Picks a broker: `REDIS_URL` if set (it must answer), else Redis on the default
   address if it answers, else a `redis-server` started here (data under
   var/redis) if one is installed, else kombu's filesystem transport under
   var/broker and a cache in files under var/cache (one machine only). `BROKER=redis`,
   `redis-server` or `filesystem` forces a choice.
2. Migrates, creates the development admin (and prints its login), loads the demo
   data once unless `DEMO=0`.
3. With `OIDC=mock`, starts a local OpenID provider (oidc-provider-mock, from requirements-dev.txt)
   with four people to sign in as, and points the web's `OIDC_*` settings at it (docs/sso.md).
4. Starts the sandbox provider (unless `SENDING_API_URL` is set), a Celery worker
   on both queues, one beat and the web server, each in a process group of its
   own, their output prefixed with their name.
5. On SIGINT or SIGTERM (Ctrl-C) sends SIGINT to every group (Redis last), waits, and
   kills what is left; if any of them dies, stops the others too.

Nothing here imports Django before the environment is settled: the settings are
read once, with the broker chosen above.
"""

import hashlib
import io
import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from backoffice.flags import parse_flag
from backoffice.processes import ROOT, ManagedProcess, free_port, port_is_free, stop_together

VAR_DIR = ROOT / "var"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
STOP_TIMEOUT = 10.0
# What the sandbox and runserver print once they listen, with the port they got (PORT=0: any free one).
SANDBOX_LISTENS = r"Sandbox provider listening on (http://\S+)"
WEB_LISTENS = r"Starting development server at http://\S+:(\d+)/"
REDIS_PORT_TAKEN = "Address already in use"
OIDC_LISTENS = r"Uvicorn running on (http://\S+)"
# The mock provider's own main, without the deprecation warnings its authlib turns on for good at
# import (`-W ignore` does not reach them): a newcomer's terminal shows what they can act on.
OIDC_MOCK_MAIN = (
    "import runpy, warnings, authlib.deprecate as d; warnings.simplefilter('ignore', d.AuthlibDeprecationWarning); "
    "runpy.run_module('oidc_provider_mock', run_name='__main__', alter_sys=True)"
)
# `make run OIDC=mock`: the people on the mock provider's sign-in page, and the groups mapped to our roles.
MOCK_GROUPS = {
    "OIDC_OPERATOR_GROUPS": "sms-operators",
    "OIDC_VIEWER_GROUPS": "sms-viewers",
    "OIDC_ADMIN_GROUPS": "it-admins",
}
MOCK_PEOPLE = {
    "operator": ["sms-operators"],
    "viewer": ["sms-viewers"],
    "it-admin": ["it-admins"],
    "nobody": ["marketing"],  # in no mapped group: refused
}


def say(message: str) -> None:
    print(f"{'make run':>8} | {message}", flush=True)


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    try:
        return parse_flag(name, env.get(name), default=default)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None


def _port(env: dict[str, str], name: str, default: int, *, any_free: bool = False) -> int:
    """The port number in `name`; with `any_free`, 0 too (the server binds a free port and says which)."""
    raw = env.get(name, "")
    try:
        port = int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name}={raw!r}: expected a port number") from None
    lowest = 0 if any_free else 1
    if not lowest <= port < 65536:
        raise SystemExit(f"{name}={port}: expected a port number between {lowest} and 65535")
    return port


def _redacted(url: str) -> str:
    """The URL without its password, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def redis_answers(url: str, timeout: float = 1.0) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout).ping())
    except (redis.RedisError, OSError, ValueError):
        return False


class Devstack:
    def __init__(self, env: dict[str, str]):
        self.env = env
        self.host = env.get("HOST", "127.0.0.1")
        self.port = _port(env, "PORT", 8000, any_free=True)
        # Their output echoed as it comes, and read for the line that says where they listen.
        env.update(PYTHONUNBUFFERED="1")  # set, never read: not a setting
        self.processes: list[ManagedProcess] = []
        self.log_dir = VAR_DIR / "log"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.stopping = threading.Event()

    # --- the broker -------------------------------------------------------------------------
    def choose_broker(self) -> str:
        env = self.env
        choice = env.get("BROKER", "auto")
        if choice not in {"auto", "redis", "redis-server", "filesystem"}:
            raise SystemExit(f"BROKER={choice!r}: expected auto, redis, redis-server or filesystem")
        if "CELERY_BROKER_URL" in env:
            return f"the broker at CELERY_BROKER_URL ({env['CELERY_BROKER_URL'].split('://')[0]})"
        if "REDIS_URL" in env or choice == "redis":
            url = env.get("REDIS_URL", DEFAULT_REDIS_URL)
            if not redis_answers(url):
                raise SystemExit(f"Redis at REDIS_URL={_redacted(url)} does not answer; start it, or unset REDIS_URL")
            return f"Redis at {_redacted(url)}"
        if choice == "auto" and redis_answers(DEFAULT_REDIS_URL):
            env["REDIS_URL"] = DEFAULT_REDIS_URL
            return f"Redis at {DEFAULT_REDIS_URL}"
        if choice in {"auto", "redis-server"} and shutil.which("redis-server"):
            return self.start_redis_server()
        if choice == "redis-server":
            raise SystemExit("BROKER=redis-server, but no redis-server is installed")
        env["CELERY_BROKER_URL"] = "filesystem://localhost//"
        env.setdefault("CELERY_BROKER_FOLDER", str(VAR_DIR / "broker"))
        # Files, not the database: the circuit reads the cache from inside the sending event loop,
        # where Django refuses database calls.
        env.setdefault("CACHE_URL", f"filecache://{VAR_DIR / 'cache'}")
        say(
            "WARNING: no Redis here: the broker and the cache are folders under var/. "
            "This works on one machine only; set REDIS_URL for anything more."
        )
        return "kombu's filesystem transport (var/broker)"

    def start_redis_server(self, attempts: int = 5) -> str:
        """On REDIS_PORT, or on a free port: Redis can neither be handed a bound socket nor say which
        port 0 gave it, so a port found free may be taken before Redis binds it; then another."""
        chosen = _port(self.env, "REDIS_PORT", 0) if self.env.get("REDIS_PORT") else None
        data = VAR_DIR / "redis"
        data.mkdir(parents=True, exist_ok=True)
        for _ in range(1 if chosen else attempts):
            port = chosen or free_port()
            redis = self.start(
                "redis",
                [
                    "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
                    "--appendonly", "yes", "--save", "", "--loglevel", "warning",
                ],
            )  # fmt: skip
            url = f"redis://127.0.0.1:{port}/0"
            deadline = time.monotonic() + 15
            while not redis_answers(url, timeout=0.5) and redis.alive() and time.monotonic() < deadline:
                time.sleep(0.1)
            if redis.alive() and redis_answers(url, timeout=0.5):
                self.env["REDIS_URL"] = url
                return f"a redis-server started here at {url} (data in var/redis)"
            redis.stop()
            self.processes.remove(redis)
            if chosen or REDIS_PORT_TAKEN not in redis.log_path.read_text(errors="replace"):
                break
        raise SystemExit(f"redis-server did not start; see {redis.log_path}")

    # --- preparing the database --------------------------------------------------------------
    def prepare(self) -> str:
        """Migrate, the cache table, the admin, the demo data: one Django start-up for all."""
        os.environ.update(self.env)
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", "--noinput", verbosity=1)
        login = ""
        if settings.DEBUG:
            out = io.StringIO()
            call_command("ensure_dev_admin", stdout=out)
            login = out.getvalue().strip()
        if _flag(self.env, "DEMO", True):
            call_command("load_demo")
        connections.close_all()  # the children open their own
        return login

    # --- the processes -----------------------------------------------------------------------
    def start(self, name: str, args: list[str]) -> ManagedProcess:
        process = ManagedProcess(name, args, self.env, self.log_dir, echo=True)
        self.processes.append(process)
        return process

    def start_oidc_mock(self) -> str | None:
        """With OIDC=mock: the mock provider, and the web's OIDC_* settings pointing at it."""
        choice = self.env.get("OIDC", "")
        if not choice:
            return None
        if choice != "mock":
            raise SystemExit(f"OIDC={choice!r}: expected mock (a local OpenID provider), or nothing")
        port = _port(self.env, "OIDC_MOCK_PORT", 9400, any_free=True)
        if "OIDC_MOCK_PORT" not in self.env and not port_is_free("127.0.0.1", port):
            port = 0  # the default is taken: any free one
        args = [sys.executable, "-c", OIDC_MOCK_MAIN, "--host", "127.0.0.1", "--port", str(port)]
        args.append("--require-nonce")
        for sub, groups in MOCK_PEOPLE.items():
            claims = {"sub": sub, "preferred_username": sub, "email": f"{sub}@example.com", "groups": groups}
            args += ["--user-claims", json.dumps(claims)]
        url = self.wait_listening(self.start("oidc", args), OIDC_LISTENS)
        if url is None:
            return None
        issuer = url.decode()
        self.env.update(
            OIDC_ISSUER=issuer,
            OIDC_RP_CLIENT_ID="backoffice-dev",
            OIDC_RP_CLIENT_SECRET="mock-provider-accepts-any",
            **MOCK_GROUPS,
        )
        return issuer

    def start_services(self) -> None:
        python = sys.executable
        if "SENDING_API_URL" not in self.env:
            sandbox_port = _port(self.env, "SANDBOX_PORT", 8025, any_free=True)
            if "SANDBOX_PORT" not in self.env and not port_is_free("127.0.0.1", sandbox_port):
                sandbox_port = 0  # the default is taken: any free port
            sandbox = self.start(
                "sandbox",
                [
                    python, "manage.py", "sandbox_gateway", "--port", str(sandbox_port),
                    "--latency-ms", "100", "--error-rate", "0.05",
                ],
            )  # fmt: skip
            url = self.wait_listening(sandbox, SANDBOX_LISTENS)
            if url is None:
                return
            self.env["SENDING_API_URL"] = url.decode()
        queue = self.env.get("CELERY_QUEUE", "celery")
        self.start(
            "worker",
            [
                python, "-m", "celery", "-A", "backoffice", "worker",
                "-Q", f"{queue},{queue}.ticks", "-c", self.env.get("WORKER_CONCURRENCY", "2"),
                "-n", f"devstack-{os.getpid()}@%h", "--without-gossip", "--without-mingle", "--loglevel", "INFO",
            ],
        )  # fmt: skip
        self.start(
            "beat",
            [
                python, "-m", "celery", "-A", "backoffice", "beat", "--pidfile=",
                "-S", "django_celery_beat.schedulers:DatabaseScheduler", "--loglevel", "INFO",
            ],
        )  # fmt: skip
        # No autoreloader: one process that stops at once (restart `make run` after changing code).
        web = self.start("web", [python, "manage.py", "runserver", "--noreload", f"{self.host}:{self.port}"])
        port = self.wait_listening(web, WEB_LISTENS)
        if port is not None:
            self.port = int(port)

    def wait_listening(self, process: ManagedProcess, says: str, timeout: float = 60.0) -> bytes | None:
        """Until the process says it listens (`says`, whose group is where): that group. None when
        `make run` is stopping; a process that died meanwhile, or the timeout, stops `make run`."""

        def stop_waiting() -> bool:
            dead = self.died()
            if dead is not None:
                raise SystemExit(f"{dead.name} exited with code {dead.process.returncode} while starting")
            return self.stopping.is_set()

        try:
            listens = process.wait_for_line(says, timeout, stop=stop_waiting)
        except (TimeoutError, RuntimeError) as exc:
            raise SystemExit(str(exc)) from None
        return listens and listens.group(1)

    def died(self) -> ManagedProcess | None:
        return next((p for p in self.processes if not p.alive()), None)

    def stop(self) -> None:
        if not self.processes:
            return
        say(f"stopping {', '.join(p.name for p in self.processes)}")
        # Redis last: a worker shutting down warm still acknowledges its tasks.
        services = [p for p in self.processes if p.name != "redis"]
        killed = stop_together(services, timeout=STOP_TIMEOUT)
        killed += stop_together([p for p in self.processes if p.name == "redis"], timeout=STOP_TIMEOUT)
        if killed:
            say(f"killed after {STOP_TIMEOUT:.0f}s: {', '.join(killed)}")
        say("stopped")
        self.processes = []

    def run(self) -> int:
        started = time.monotonic()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self.stopping.set())
        try:
            if self.port and not port_is_free(self.host, self.port):
                raise SystemExit(
                    f"port {self.port} on {self.host} is taken: try `make run PORT={self.port + 1}`, or PORT=0 for any"
                )
            self.env.setdefault("CELERY_QUEUE", f"backoffice-{hashlib.sha1(str(ROOT).encode()).hexdigest()[:8]}")
            self.env.setdefault("CACHE_KEY_PREFIX", self.env["CELERY_QUEUE"])
            say(f"broker: {self.choose_broker()}")
            issuer = self.start_oidc_mock()
            if self.stopping.is_set():
                return 0
            login = self.prepare()
            if self.stopping.is_set():
                return 0
            self.start_services()
            if self.stopping.is_set():
                return 0
            base = f"http://{self.host}:{self.port}"
            say(f"ready in {time.monotonic() - started:.1f}s")
            say(f"Admin: {base}/admin/   API docs: {base}/docs/   Metrics: {base}/metrics")
            for line in login.splitlines():
                say(line)
            if issuer:
                say(f"SSO: a mock OpenID provider at {issuer}: on the sign-in page click Sign in with SSO, then")
                say("     operator, viewer or it-admin (their roles) or nobody (in no group: refused); any other")
                say("     name typed there is a person in no group")
            say(f"Ctrl-C stops them all; their logs are also in {self.log_dir.relative_to(ROOT)}/")
            while not self.stopping.wait(0.5):
                dead = self.died()
                if dead is not None:
                    say(f"{dead.name} exited with code {dead.process.returncode}: stopping the others")
                    return 1
            return 0
        finally:
            self.stop()


def main() -> None:
    sys.exit(Devstack(dict(os.environ)).run())


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])
    main()
