"""`make run` without Redis keeps the cache in files: the provider circuit must still be shared by
every process, and be readable from inside the sending event loop (where Django refuses database
calls, which is why the database cache would not do)."""

import asyncio
import os
import subprocess
import sys

import pytest
from django.core.cache import caches

from backoffice.processes import ROOT
from mailings.sending import circuit
from mailings.sending.circuit import Circuit, CircuitSettings, Mode


@pytest.fixture
def file_cache(settings, tmp_path):
    prefix = settings.CACHES["default"]["KEY_PREFIX"]  # the other process reads CACHE_KEY_PREFIX too
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path),
            "KEY_PREFIX": prefix,
        }
    }
    yield tmp_path
    caches["default"].clear()


def _state_seen_by_another_process(location) -> str:
    env = {**os.environ, "CACHE_URL": f"filecache://{location}"}
    code = (
        "import django; django.setup()\n"
        "from mailings.sending.circuit import circuit_state\n"
        "state = circuit_state(); print(state['reason'] if state else 'closed')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.strip().splitlines()[-1]


def test_the_circuit_opened_in_the_event_loop_is_seen_by_another_process(file_cache, monkeypatch):
    monkeypatch.setattr(circuit, "cache", caches["default"])
    breaker = Circuit(CircuitSettings(refresh=0))

    async def in_the_loop():
        breaker.open("HTTP 401: the provider refused our token")
        return breaker.mode()

    assert asyncio.run(in_the_loop()) is Mode.OPEN
    assert _state_seen_by_another_process(file_cache) == "HTTP 401: the provider refused our token"


def test_the_database_cache_would_not_do(settings, monkeypatch):
    """Why the fallback is files: inside the loop the database cache fails, and the circuit can
    only fall back to what its own process knew."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "c"}}
    monkeypatch.setattr(circuit, "cache", caches["default"])

    async def in_the_loop():
        return circuit._cache_call("add", "probe", 1, default="failed")

    assert asyncio.run(in_the_loop()) == "failed"
