"""Whose address the login limit counts behind the compose file's own proxy, run for real without
Docker: nginx serving deploy/nginx/backoffice.conf (tests/support/nginx.py) in front of gunicorn
started with the web service's command and environment from docker-compose.yml, TRUSTED_PROXY_COUNT
included, on the test database.

Clients connect to nginx from two loopback addresses, each socket bound to its source address
(Linux routes all of 127/8 to lo): 127.0.0.2, the attacker, and 127.0.0.1, a colleague. nginx
itself reaches gunicorn from 127.0.0.1, so an address the web took from the connection would be the
proxy's for everyone.
"""

import contextlib
import os
import re
import secrets
import subprocess
import sys
import time
import uuid

import pytest
import requests
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from requests.adapters import HTTPAdapter

from backoffice.processes import ROOT, ManagedProcess, bound_socket
from tests.support.compose import load_compose, service_environment
from tests.support.nginx import RunningProxy, require_tools, start_proxy
from tests.support.processes import database_url, redis_env

ATTACKER, COLLEAGUE = "127.0.0.2", "127.0.0.1"
PASSWORD = "the-right-pw-42"
# What an operator exports before `docker compose up`; TRUSTED_PROXY_COUNT is left to the file.
OPERATOR = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "127.0.0.1",
    "POSTGRES_PASSWORD": "unused",
    "SENDING_API_URL": "http://127.0.0.1:9",
    "SENDING_API_TOKEN": "unused",
}
# Variables of this shell that would otherwise reach the web and change what compose gives it.
NOT_INHERITED = ("DJANGO_", "SECURE_", "SESSION_", "CSRF_", "METRICS_", "AXES_", "TRUSTED_PROXY_")


def start_web(folder) -> tuple[ManagedProcess, int]:
    """gunicorn with the web service's command and environment, on a port bound here."""
    web = load_compose()["services"]["web"]
    env = {name: value for name, value in os.environ.items() if not name.startswith(NOT_INHERITED)}
    env.update(service_environment(web, OPERATOR))
    # This machine's services in place of the compose network's.
    env.update(
        DATABASE_URL=database_url(),
        CONN_MAX_AGE="0",
        **redis_env(),
        CACHE_KEY_PREFIX=f"proxy-{uuid.uuid4().hex[:8]}",
        STATIC_ROOT=str(folder / "static"),
        AXES_FAILURE_LIMIT=str(settings.AXES_FAILURE_LIMIT),
    )
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert collected.returncode == 0, collected.stderr
    command = list(web["command"])
    assert command[0] == "gunicorn"
    with bound_socket() as sock:  # gunicorn serves it (fd://): refused until it listens, never another's
        command[command.index("--bind") + 1] = f"fd://{sock.fileno()}"
        process = ManagedProcess("gunicorn", [sys.executable, "-m", *command], env, folder, pass_fds=(sock.fileno(),))
        port = sock.getsockname()[1]
    # It listens at once; its workers answer once each has loaded the project.
    deadline = time.monotonic() + 90
    while True:
        assert process.alive(), process.tail()
        assert time.monotonic() < deadline, f"gunicorn never answered /healthz:\n{process.tail()}"
        with contextlib.suppress(requests.ConnectionError, requests.Timeout):
            if requests.get(f"http://127.0.0.1:{port}/healthz", headers={"Host": "localhost"}, timeout=5).ok:
                return process, port
        time.sleep(0.2)


@pytest.fixture(scope="module")
def proxy(django_db_setup, tmp_path_factory):
    require_tools()
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the web process shares the test database: set DATABASE_URL to PostgreSQL (CI does)")
    folder = tmp_path_factory.mktemp("proxy")
    web, port = start_web(folder / "web")
    try:
        running = start_proxy(folder / "nginx", upstream=f"127.0.0.1:{port}")
    except BaseException:
        web.stop()
        raise
    yield running
    running.process.stop()
    web.stop()


class FromAddress(HTTPAdapter):
    """Connections that leave from one local address."""

    def __init__(self, source: str):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, source_address=(self.source, 0), **kwargs)


class Visitor:
    """A browser of the admin behind the proxy, connecting from one address."""

    def __init__(self, proxy: RunningProxy, source: str):
        self.proxy = proxy
        self.session = requests.Session()
        self.session.trust_env = False  # this certificate, not a CA bundle the environment names
        self.session.verify = str(proxy.certificate)
        self.session.mount("https://", FromAddress(source))
        self.session.mount("http://", FromAddress(source))

    def get(self, url: str, **headers) -> requests.Response:
        return self.session.get(url, headers=headers, allow_redirects=False, timeout=30)

    def log_in(self, username: str, password: str, forwarded_for: str | None = None) -> requests.Response:
        """The login form, filled in and sent; `forwarded_for`: an X-Forwarded-For of our own making."""
        url = f"{self.proxy.https_url}/admin/login/"
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        form = self.get(url, **headers)
        assert form.status_code == 200, form.text[:500]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)[1]
        return self.session.post(
            url,
            data={"csrfmiddlewaretoken": token, "username": username, "password": password, "next": "/admin/"},
            headers={**headers, "Referer": url},
            allow_redirects=False,
            timeout=30,
        )

    def is_logged_in(self) -> bool:
        return self.get(f"{self.proxy.https_url}/admin/").status_code == 200


@pytest.fixture
def olga(transactional_db, django_user_model):
    """A staff user, committed for the web process to see. Its password is hashed with a hasher the
    production settings know (the tests' own is MD5), with few iterations for quick wrong guesses."""
    hasher = PBKDF2PasswordHasher()
    password = hasher.encode(PASSWORD, hasher.salt(), iterations=1_000)
    return django_user_model.objects.create(username="olga", password=password, is_staff=True)


def recorded_addresses(model) -> list[str]:
    return sorted(model.objects.values_list("ip_address", flat=True))


class TestLoginLimitBehindTheProxy:
    def test_a_lockout_is_for_the_clients_address_not_the_proxys(self, proxy, olga):
        attacker, colleague = Visitor(proxy, ATTACKER), Visitor(proxy, COLLEAGUE)
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            assert attacker.log_in("olga", "guess").status_code == 200  # the form again, with an error
        assert attacker.log_in("olga", "guess").status_code == 429
        assert attacker.log_in("olga", PASSWORD).status_code == 429
        assert not attacker.is_logged_in()
        # Olga, through the same proxy from her own address, logs in.
        welcomed = colleague.log_in("olga", PASSWORD)
        assert (welcomed.status_code, welcomed.headers.get("Location")) == (302, "/admin/")
        assert colleague.is_logged_in()
        # The web recorded each client's own address: the source addresses took effect.
        assert recorded_addresses(AccessAttempt) == [ATTACKER]
        assert recorded_addresses(AccessLog) == [COLLEAGUE]

    def test_an_x_forwarded_for_written_by_the_client_does_not_dodge_it(self, proxy, olga):
        attacker = Visitor(proxy, ATTACKER)
        limit = settings.AXES_FAILURE_LIMIT
        answers = [attacker.log_in("olga", "guess", forwarded_for=f"203.0.113.{n}").status_code for n in range(limit)]
        assert answers == [200] * (limit - 1) + [429]
        # Three more, each claiming yet another address, then the right password: all refused.
        for n in range(limit, limit + 3):
            assert attacker.log_in("olga", "guess", forwarded_for=f"203.0.113.{n}").status_code == 429
        refused = attacker.log_in("olga", PASSWORD, forwarded_for="198.51.100.7, 198.51.100.8")
        assert refused.status_code == 429
        assert not attacker.is_logged_in()
        assert recorded_addresses(AccessAttempt) == [ATTACKER]


class TestTheProxy:
    def test_plain_http_is_sent_to_https(self, proxy):
        # A client claiming HTTPS over plain HTTP is redirected all the same: nginx answers, not the web.
        visitor = Visitor(proxy, COLLEAGUE)
        answer = visitor.get(f"{proxy.http_url}/admin/login/?next=/admin/", **{"X-Forwarded-Proto": "https"})
        assert answer.status_code == 301
        assert answer.headers["Location"] == "https://127.0.0.1/admin/login/?next=/admin/"

    def test_it_overwrites_the_x_forwarded_proto_a_client_sends(self, proxy):
        # Believed, an `http` here would send the browser round to HTTPS for ever.
        page = Visitor(proxy, COLLEAGUE).get(f"{proxy.https_url}/admin/login/", **{"X-Forwarded-Proto": "http"})
        assert page.status_code == 200
        assert "Secure" in page.headers["Set-Cookie"]
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")

    def test_its_health_check_passes_while_it_serves_and_fails_without_it(self, proxy):
        check = load_compose()["services"]["proxy"]["healthcheck"]["test"]
        assert check[0] == "CMD"

        def run(base: str) -> subprocess.CompletedProcess:
            command = [arg.replace("https://127.0.0.1/", f"{base}/") for arg in check[1:]]
            assert command != check[1:], check
            return subprocess.run(command, capture_output=True, text=True, timeout=30)

        serving = run(proxy.https_url)
        assert serving.returncode == 0, serving.stderr
        with bound_socket() as closed:  # bound, not listening: refused
            assert run(f"https://127.0.0.1:{closed.getsockname()[1]}").returncode != 0
