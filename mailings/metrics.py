"""Prometheus metrics: what the database knows, and the provider requests the workers made.

Provider requests happen in Celery worker processes, on any number of machines,
while `/metrics` is answered by a web process. Each worker process tallies the
requests of a batch in memory and adds the tally to a shared store in one round
trip when the batch is recorded: a Redis hash (`HINCRBY` in a pipeline) wherever
there is Redis, or a locked file under `var/` for the one-machine development
set-up without it. The web process reads the store and the database at scrape
time (a custom collector), so every web process answers the same figures and no
process's restart loses counts. The database figures come from the trigger-kept
message counts (`selectors`), never from counting the message table.
"""

import contextlib
import fcntl
import json
import logging
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import redis
from django.conf import settings
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from mailings import selectors
from mailings.delivery_metrics import delivery_metrics
from mailings.gateway import Outcome
from mailings.models import Message
from mailings.providers import DEFAULT_PROVIDER, providers
from mailings.sending.circuit import Mode

logger = logging.getLogger(__name__)

# Seconds; a provider answers in tens of milliseconds when well, and we give up after SENDING_READ_TIMEOUT.
DURATION_BUCKETS: tuple[float, ...] = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
OUTCOMES: tuple[str, ...] = tuple(Outcome)
CIRCUIT_STATES: tuple[str, ...] = tuple(Mode)


class RequestTally:
    """One batch's provider requests, counted in memory: nothing leaves the process per request.

    Fields are `requests:<provider>:<outcome>`, `duration_bucket:<provider>:<le>` and
    `duration_sum_us:<provider>` (a provider's name has no colon)."""

    def __init__(self) -> None:
        self.fields: Counter[str] = Counter()
        self.count = 0
        self._sum_us = 0
        self.slowest = 0.0  # seconds

    def add(self, *, outcome: str, duration: float, provider: str = DEFAULT_PROVIDER) -> None:
        self.fields[f"requests:{provider}:{outcome}"] += 1
        bucket = next((f"{le:g}" for le in DURATION_BUCKETS if duration <= le), "+Inf")
        self.fields[f"duration_bucket:{provider}:{bucket}"] += 1
        micros = round(duration * 1_000_000)
        self.fields[f"duration_sum_us:{provider}"] += micros  # integers: HINCRBY, exact sums
        self.count += 1
        self._sum_us += micros
        if duration > self.slowest:
            self.slowest = duration

    @property
    def mean(self) -> float:
        """Seconds."""
        return self._sum_us / 1_000_000 / self.count if self.count else 0.0

    def outcomes(self) -> str:
        """`sent:998 transient:2`, as a batch's log line reads (its providers' requests together)."""
        by_outcome: Counter[str] = Counter()
        for field, n in self.fields.items():
            if field.startswith("requests:"):
                by_outcome[field.rsplit(":", 1)[1]] += n
        return " ".join(f"{outcome}:{n}" for outcome, n in sorted(by_outcome.items()))

    def __bool__(self) -> bool:
        return bool(self.fields)


class RedisStore:
    def __init__(self, url: str, key: str):
        self.key = key
        self.client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)

    def add(self, fields: dict[str, int]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for field, n in fields.items():
            pipe.hincrby(self.key, field, n)
        pipe.execute()

    def read(self) -> dict[str, int]:
        return {k.decode(): int(v) for k, v in self.client.hgetall(self.key).items()}

    def clear(self) -> None:
        self.client.delete(self.key)


class FileStore:
    """For one machine without Redis: a JSON file, read-modify-written under an exclusive lock."""

    def __init__(self, path: Path):
        self.path = path

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, int]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+") as file:
            fcntl.flock(file, fcntl.LOCK_EX)
            raw = file.read()
            data = json.loads(raw) if raw.strip() else {}
            yield data
            file.seek(0)
            file.truncate()
            file.write(json.dumps(data))

    def add(self, fields: dict[str, int]) -> None:
        with self._locked() as data:
            for field, n in fields.items():
                data[field] = data.get(field, 0) + n

    def read(self) -> dict[str, int]:
        with self._locked() as data:
            return dict(data)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def metrics_store() -> RedisStore | FileStore:
    url = settings.METRICS_STORE_URL
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(url, f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:metrics:provider")
    return FileStore(Path(url.removeprefix("file://")))


def record_provider_requests(tally: RequestTally) -> None:
    """Add a batch's tally to the shared store; metrics never fail a batch."""
    if not tally:
        return
    try:
        metrics_store().add(dict(tally.fields))
    except Exception:
        logger.warning("could not record provider request metrics", exc_info=True)


class BackofficeCollector:
    """Reads everything at scrape time; a source that does not answer is reported, not fatal."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "backoffice_metrics_source_up", "Whether a source of these metrics answered the scrape.", labels=["source"]
        )
        try:
            yield from self._database()
            up.add_metric(["database"], 1)
        except Exception:
            logger.warning("metrics: the database did not answer", exc_info=True)
            up.add_metric(["database"], 0)
        try:
            yield from self._provider_requests(metrics_store().read())
            up.add_metric(["store"], 1)
        except Exception:
            logger.warning("metrics: the request store did not answer", exc_info=True)
            up.add_metric(["store"], 0)
        yield self._circuit()
        yield up

    def _database(self) -> Iterator[Metric]:
        counts = selectors.mailing_statistics_overall()
        messages = GaugeMetricFamily(
            "backoffice_messages", "Messages by status, from the trigger-kept counts.", labels=["status"]
        )
        for status, n in counts["messages_by_status"].items():
            messages.add_metric([status], n)
        waiting = GaugeMetricFamily(
            "backoffice_messages_waiting",
            "Messages still to be sent: pending (retries included) and sending (on the wire now).",
        )
        waiting.add_metric([], sum(counts["messages_by_status"][status] for status in Message.WAITING_STATUSES))
        mailings = GaugeMetricFamily("backoffice_mailings", "Mailings by status.", labels=["status"])
        for status, n in counts["mailings_by_status"].items():
            mailings.add_metric([status], n)
        # Gather first: a failure half-way must not leave half the families on the page.
        delivery = list(delivery_metrics())
        yield from (messages, waiting, mailings, *delivery)

    def _provider_requests(self, data: dict[str, int]) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "backoffice_provider_requests", "Requests to the SMS providers by outcome.", labels=["provider", "outcome"]
        )
        duration = HistogramMetricFamily(
            "backoffice_provider_request_duration_seconds",
            "Time from sending a request to the provider to its answer (or the timeout).",
            labels=["provider"],
        )
        # Every configured provider, and any other the store has counts of (one since removed).
        named = dict.fromkeys([*providers(), *(key.split(":")[1] for key in data if key.count(":") == 2)])
        for provider in named:
            for outcome in OUTCOMES:
                requests.add_metric([provider, outcome], data.get(f"requests:{provider}:{outcome}", 0))
            cumulative, buckets = 0, []
            for le in [f"{b:g}" for b in DURATION_BUCKETS] + ["+Inf"]:
                cumulative += data.get(f"duration_bucket:{provider}:{le}", 0)
                buckets.append((le, cumulative))
            duration.add_metric([provider], buckets, data.get(f"duration_sum_us:{provider}", 0) / 1_000_000)
        yield from (requests, duration)

    def _circuit(self) -> Metric:
        circuit = GaugeMetricFamily(
            "backoffice_provider_circuit",
            "Each provider's circuit breaker: 1 for its current state (closed: sending; open: holding; probing).",
            labels=["provider", "state"],
        )
        for status in selectors.providers_status():
            for name in CIRCUIT_STATES:
                circuit.add_metric([status["name"], name], 1 if name == status["state"] else 0)
        return circuit


def registry() -> CollectorRegistry:
    """Only our collector: a web process's own CPU and memory say nothing about the workers."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(BackofficeCollector())
    return reg
