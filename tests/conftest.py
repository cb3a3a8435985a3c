"""Shared fixtures: API clients authenticated by token, with and without permissions."""

import contextlib
import itertools
import time
import uuid

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from mailings.sending import dispatch
from tests.support.migrations_data import (  # noqa: F401  (hooks and a fixture, for every test)
    django_db_setup,
    pytest_collection_modifyitems,
    pytest_fixture_post_finalizer,
    pytest_fixture_setup,
)


def _user_with(django_user_model, username: str, codenames: list[str]):
    user = django_user_model.objects.create_user(username=username, password="irrelevant-pass-123")
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="mailings", codename__in=codenames))
    return user


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


INTEGRATION_PERMS = [
    f"{action}_{model}" for model in ("client", "mailing") for action in ("view", "add", "change", "delete")
] + ["view_message"]


@pytest.fixture
def anon_api() -> APIClient:
    return APIClient()


@pytest.fixture
def api(django_user_model) -> APIClient:
    """An ordinary integration token: full rights on clients and mailings, read-only messages."""
    return _token_client(_user_with(django_user_model, "integration", INTEGRATION_PERMS))


@pytest.fixture
def admin_api(django_user_model) -> APIClient:
    """A superuser's token: may write messages too."""
    return _token_client(
        django_user_model.objects.create_superuser(username="root", email="root@example.com", password="pass-123x")
    )


@pytest.fixture
def readonly_api(django_user_model) -> APIClient:
    """A token that may only read."""
    return _token_client(_user_with(django_user_model, "reader", ["view_client", "view_mailing", "view_message"]))


@pytest.fixture
def noperm_api(django_user_model) -> APIClient:
    """An authenticated token without any permission."""
    return _token_client(_user_with(django_user_model, "nobody", []))


@pytest.fixture
def token_with(django_user_model):
    """`token_with("view_client", ...)`: an API client with a token of a user holding only those permissions."""

    def make(*codenames: str) -> APIClient:
        return _token_client(_user_with(django_user_model, f"holder-{uuid.uuid4().hex[:12]}", list(codenames)))

    return make


class RunningSandbox:
    """A sandbox provider served on loopback from a background thread (a real HTTP server)."""

    def __init__(self, **knobs):
        import asyncio
        import threading

        from backoffice.processes import bound_socket
        from mailings.sandbox import Sandbox, SandboxConfig

        sock = bound_socket()  # served by the sandbox: its port is never free for another to take
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.sandbox = Sandbox(SandboxConfig(token=knobs.pop("token", "sandbox-test-token"), **knobs))
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve():
            asyncio.set_event_loop(self.loop)
            self._task = self.loop.create_task(
                self.sandbox.serve("127.0.0.1", self.port, ready=lambda port: ready.set(), sock=sock)
            )
            with contextlib.suppress(asyncio.CancelledError):
                self.loop.run_until_complete(self._task)

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()
        assert ready.wait(5), "the sandbox did not start"

    @property
    def stats(self) -> dict:
        return self.sandbox.state.stats()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self._task.cancel)
        self.thread.join(5)


@pytest.fixture
def sandbox_factory(settings):
    """Start sandboxes with knobs; SENDING_API_URL/TOKEN point at the last one started."""
    started: list[RunningSandbox] = []

    def start(**knobs) -> RunningSandbox:
        server = RunningSandbox(**knobs)
        started.append(server)
        settings.SENDING_API_URL = server.url
        settings.SENDING_API_TOKEN = server.sandbox.config.token
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(autouse=True)
def _clean_shared_state():
    """The circuits and the dispatch lock live in the (real, shared) cache: start every test closed."""
    from django.core.cache import cache

    from mailings.routing import forget_routes
    from mailings.sending.circuit import PROBE_KEY, STATE_KEY, probe_key, state_key
    from mailings.sending.dispatch import DISPATCH_LOCK

    # The providers the tests name (tests/sending/test_failover.py): their circuits too. And the
    # routes a worker process keeps for a few seconds: each test reads its own.
    named = ["b"]
    keys = [STATE_KEY, PROBE_KEY, DISPATCH_LOCK, *map(state_key, named), *map(probe_key, named)]
    cache.delete_many(keys)
    forget_routes()
    yield
    cache.delete_many(keys)
    forget_routes()


class FrozenClock:
    """The time the rate limits read (mailings/rate_limits.py): still until moved."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


_clock_days = itertools.count(int(time.time() // 86400) + 10_000)


@pytest.fixture
def frozen_clock(monkeypatch) -> FrozenClock:
    """A quarter of a second into a day of its own, far ahead: every window of a second, minute,
    hour or day starts there, and no other test of the run (its counters in the same real Redis,
    its users with the same ids on SQLite) counts in the same windows."""
    from mailings import rate_limits

    clock = FrozenClock(next(_clock_days) * 86400 + 0.25)
    monkeypatch.setattr(rate_limits, "clock", clock)
    return clock


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple[int, list[int], int]]:
    """What dispatch hands to the broker, captured where it is dispatched (the send_batch task's
    .delay) instead of sent: (mailing id, message ids, token) per batch."""
    calls: list[tuple[int, list[int], int]] = []
    monkeypatch.setattr(
        dispatch.send_batch_task,
        "delay",
        lambda *, mailing_id, message_ids, token: calls.append((mailing_id, message_ids, token)),
    )
    return calls
