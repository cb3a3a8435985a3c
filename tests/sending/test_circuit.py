import time

import pytest
from django.core.cache import cache

from mailings.selectors import provider_status
from mailings.sending.circuit import PROBE_KEY, STATE_KEY, Circuit, CircuitSettings, Mode, circuit_mode, circuit_state

SETTINGS = CircuitSettings(threshold=3, cooldown=1.0, max_cooldown=4.0, refresh=0)


@pytest.fixture(autouse=True)
def clean_circuit_keys():
    cache.delete_many([STATE_KEY, PROBE_KEY])
    yield
    cache.delete_many([STATE_KEY, PROBE_KEY])


class Clock:
    """`time.time()` moved forward on demand (the circuit's cool-downs are wall-clock times)."""

    def __init__(self, monkeypatch):
        self.offset = 0.0
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)


def opened(circuit: Circuit, reason: str = "HTTP 401: the provider refused our token") -> dict:
    circuit.record_refusal(reason)
    state = circuit_state()
    assert state is not None
    return state


def probe_pair(first: Circuit, second: Circuit) -> tuple[Circuit, Circuit]:
    """Both see the cool-down over; exactly one gets the probe. Returns (prober, other)."""
    assert (first.mode(), second.mode()) == (Mode.PROBING, Mode.PROBING)
    taken = [first.acquire_probe(), second.acquire_probe()]
    assert sorted(taken) == [False, True], taken
    return (first, second) if taken[0] else (second, first)


class TestClosedCircuit:
    def test_it_is_closed_by_default(self):
        circuit = Circuit(SETTINGS)
        assert circuit.mode() is Mode.CLOSED
        assert circuit_state() is None

    def test_it_stays_closed_below_the_threshold(self):
        circuit = Circuit(SETTINGS)
        circuit.record_failure("HTTP 500: boom")
        circuit.record_failure("HTTP 502: boom")
        assert circuit.mode() is Mode.CLOSED
        assert circuit_state() is None

    def test_it_opens_at_the_threshold_with_the_last_error(self):
        circuit = Circuit(SETTINGS)
        circuit.record_failure("HTTP 500: first")
        circuit.record_failure("HTTP 502: second")
        circuit.record_failure("timed out after 5.0s")
        assert circuit.mode() is Mode.OPEN
        state = circuit_state()
        assert state is not None
        assert "timed out after 5.0s" in state["reason"]
        assert "3 failures" in state["reason"]
        assert state["cooldown"] == 1.0
        assert state["until"] == pytest.approx(state["opened_at"] + 1.0)

    def test_it_resets_the_run_on_success(self):
        circuit = Circuit(SETTINGS)
        circuit.record_failure("a")
        circuit.record_failure("b")
        circuit.record_success()
        circuit.record_failure("c")
        circuit.record_failure("d")
        assert circuit.mode() is Mode.CLOSED
        assert circuit_state() is None
        circuit.record_failure("e")
        assert circuit.mode() is Mode.OPEN

    def test_it_opens_at_once_on_a_refusal(self):
        circuit = Circuit(SETTINGS)
        circuit.record_refusal("HTTP 403: the provider refused our token")
        assert circuit.mode() is Mode.OPEN
        assert circuit_state()["reason"] == "HTTP 403: the provider refused our token"


class TestSharedCircuit:
    def test_another_process_sees_it_open(self):
        worker, other = Circuit(SETTINGS), Circuit(SETTINGS)
        assert other.mode() is Mode.CLOSED
        opened(worker)
        assert other.mode() is Mode.OPEN
        assert other.held_until() == pytest.approx(circuit_state()["until"])

    def test_it_stays_open_until_the_cool_down_is_over(self, clock):
        worker, other = Circuit(SETTINGS), Circuit(SETTINGS)
        opened(worker)
        clock.advance(0.9)
        assert (worker.mode(), other.mode()) == (Mode.OPEN, Mode.OPEN)

    def test_a_second_run_of_failures_does_not_extend_an_open_circuit(self):
        worker, other = Circuit(SETTINGS), Circuit(SETTINGS)
        state = opened(worker, "first reason")
        for n in range(3):
            other.record_failure(f"late failure {n}")
        assert circuit_state() == state

    def test_exactly_one_process_probes_after_the_cool_down(self, clock):
        worker, other = Circuit(SETTINGS), Circuit(SETTINGS)
        opened(worker)
        clock.advance(1.1)
        prober, waiting = probe_pair(worker, other)
        # Asking again changes nothing: the probe is out, everybody waits for its answer.
        assert prober.mode() is Mode.OPEN
        assert not prober.acquire_probe()
        assert not waiting.acquire_probe()
        assert provider_status()["state"] == "probing"

    def test_a_probe_released_without_news_lets_another_process_probe(self, clock):
        worker, other = Circuit(SETTINGS), Circuit(SETTINGS)
        opened(worker)
        clock.advance(1.1)
        prober, waiting = probe_pair(worker, other)
        prober.release_probe()  # its message was held (window closed): no news of the provider
        assert waiting.acquire_probe()

    def test_a_third_process_does_not_probe_either(self, clock):
        circuits = [Circuit(SETTINGS) for _ in range(3)]
        opened(circuits[0])
        clock.advance(1.1)
        taken = [c.acquire_probe() for c in circuits]
        assert taken.count(True) == 1


class TestProbe:
    def test_a_successful_probe_closes_it_for_everybody(self, clock):
        worker, other = Circuit(SETTINGS), Circuit(SETTINGS)
        opened(worker)
        clock.advance(1.1)
        prober, waiting = probe_pair(worker, other)
        prober.record_success()
        assert circuit_state() is None
        assert cache.get(PROBE_KEY) is None
        assert (prober.mode(), waiting.mode()) == (Mode.CLOSED, Mode.CLOSED)
        assert provider_status()["state"] == "closed"

    def test_a_failed_probe_reopens_it_for_twice_as_long(self, clock):
        worker, other = Circuit(SETTINGS), Circuit(SETTINGS)
        opened(worker)
        clock.advance(1.1)
        prober, waiting = probe_pair(worker, other)
        prober.record_failure("HTTP 503: still down")
        state = circuit_state()
        assert state["cooldown"] == 2.0
        assert "probe failed" in state["reason"]
        assert "HTTP 503: still down" in state["reason"]
        assert state["until"] == pytest.approx(time.time() + 2.0, abs=0.5)
        assert (prober.mode(), waiting.mode()) == (Mode.OPEN, Mode.OPEN)

    def test_the_cool_down_doubles_up_to_the_maximum(self, clock):
        worker, other = Circuit(SETTINGS), Circuit(SETTINGS)
        opened(worker)
        cooldowns = []
        for _ in range(4):
            clock.advance(circuit_state()["cooldown"] + 0.1)
            prober, _ = probe_pair(worker, other)
            prober.record_failure("HTTP 503: still down")
            cooldowns.append(circuit_state()["cooldown"])
        assert cooldowns == [2.0, 4.0, 4.0, 4.0]

    def test_it_does_not_probe_before_the_doubled_cool_down(self, clock):
        worker, other = Circuit(SETTINGS), Circuit(SETTINGS)
        opened(worker)
        clock.advance(1.1)
        prober, _ = probe_pair(worker, other)
        prober.record_failure("HTTP 503: still down")
        clock.advance(1.5)  # past the first cool-down, not the doubled one
        assert (worker.mode(), other.mode()) == (Mode.OPEN, Mode.OPEN)
        clock.advance(0.6)
        probe_pair(worker, other)

    def test_a_refused_probe_reopens_it_too(self, clock):
        worker, other = Circuit(SETTINGS), Circuit(SETTINGS)
        opened(worker)
        clock.advance(1.1)
        prober, _ = probe_pair(worker, other)
        prober.record_refusal("HTTP 401: the provider refused our token")
        state = circuit_state()
        assert state["cooldown"] == 2.0
        assert state["reason"] == "HTTP 401: the provider refused our token"

    def test_a_closed_circuit_starts_again_from_the_base_cool_down(self, clock):
        worker, other = Circuit(SETTINGS), Circuit(SETTINGS)
        opened(worker)
        clock.advance(1.1)
        prober, _ = probe_pair(worker, other)
        prober.record_failure("still down")
        clock.advance(2.1)
        prober, _ = probe_pair(worker, other)
        prober.record_success()
        assert opened(other)["cooldown"] == 1.0


class TestProviderStatus:
    def test_it_is_closed_by_default(self):
        assert provider_status() == {"state": "closed", "reason": "", "opened_at": None, "retry_at": None}

    def test_it_reports_an_open_circuit_with_its_reason_and_retry_time(self):
        state = opened(Circuit(SETTINGS), "HTTP 401: the provider refused our token")
        status = provider_status()
        assert status["state"] == "open"
        assert status["reason"] == "HTTP 401: the provider refused our token"
        assert status["opened_at"] == state["opened_at"]
        assert status["retry_at"] == state["until"]
        assert status["retry_at"] > time.time()

    def test_it_reports_probing_after_the_cool_down(self, clock):
        opened(Circuit(SETTINGS))
        clock.advance(1.1)
        assert provider_status()["state"] == "probing"

    def test_it_reports_closed_again_after_a_successful_probe(self, clock):
        circuit = Circuit(SETTINGS)
        opened(circuit)
        clock.advance(1.1)
        assert circuit.acquire_probe()
        circuit.record_success()
        assert provider_status()["state"] == "closed"


class TestLateAnswers:
    def test_a_late_success_does_not_close_a_circuit_it_did_not_probe(self, clock):
        worker, other = Circuit(SETTINGS), Circuit(SETTINGS)
        opened(worker)
        other.record_success()  # an answer to a request sent before the circuit opened
        assert circuit_state() is not None
        assert worker.mode() is Mode.OPEN


class TestCacheTrouble:
    def test_the_circuit_keeps_its_last_state_when_the_cache_fails(self, monkeypatch):
        from django.core.cache import cache
        from redis.exceptions import ConnectionError as RedisConnectionError

        circuit = Circuit(CircuitSettings(refresh=0))
        circuit.open("provider down")

        def broken(*args, **kwargs):
            raise RedisConnectionError("Redis is restarting")

        with monkeypatch.context() as patched:
            for method in ("get", "add", "set", "delete", "delete_many"):
                patched.setattr(cache, method, broken)
            assert circuit.mode().value == "open"
            assert circuit_state() is None  # operators see "closed", the worker keeps its own view
            # Nothing raises mid-batch, and nobody can take the probe while the cache is away.
            circuit.record_success()
            circuit.record_failure("HTTP 503")
            assert not circuit.acquire_probe()
            assert circuit.mode().value == "open"


class TestOneSpelling:
    def test_the_shared_state_is_decided_in_one_place(self, clock):
        assert circuit_mode(None) is Mode.CLOSED
        state = opened(Circuit(SETTINGS))
        assert circuit_mode(state) is Mode.OPEN
        assert circuit_mode(state, now=state["until"]) is Mode.PROBING
        clock.advance(1.1)
        assert circuit_mode(state) is Mode.PROBING

    def test_the_api_and_the_metrics_spell_the_states_as_the_circuit_does(self):
        from mailings.api.serializers import ProviderStatusSerializer
        from mailings.metrics import CIRCUIT_STATES

        assert list(CIRCUIT_STATES) == ["closed", "open", "probing"]
        assert list(ProviderStatusSerializer().fields["state"].choices) == list(CIRCUIT_STATES)
