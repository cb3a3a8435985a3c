"""What the fault tests share: sending settings for a quick run, waiting, the sandbox's record, figures."""

import time
from datetime import datetime, timedelta

import requests
from django.utils import timezone

from backoffice.processes import ManagedProcess
from mailings import services
from mailings.models import Client, Mailing, Message

S = Message.Status
TERMINAL = (S.SENT, S.FAILED, S.EXPIRED, S.CANCELLED)
# The circuit opening logs an ERROR (operators must see it), and so does each failed probe: a
# provider outage makes them on purpose (`@pytest.mark.expected_log_errors(CIRCUIT_OPENED)`).
CIRCUIT_OPENED = r"ERROR mailings\.sending\.circuit provider circuit open for \d+s: "


def sending_env(sandbox_url: str, **overrides: object) -> dict[str, str]:
    """Short timeouts, batches and backoffs, so a fault and its recovery fit in seconds."""
    env = {
        "SENDING_API_URL": sandbox_url,
        "SENDING_API_TOKEN": "faults-token",
        "SENDING_READ_TIMEOUT": "1",
        "SENDING_CONNECT_TIMEOUT": "1",
        "SENDING_CONCURRENCY": "25",
        "SENDING_BATCH_SIZE": "200",
        "SENDING_MAX_QUEUED": "2000",
        "SENDING_BACKOFF_BASE": "0.2",
        "SENDING_BACKOFF_CAP": "2",
        "SENDING_MAX_ATTEMPTS": "15",
        "SENDING_CIRCUIT_COOLDOWN": "1",
        "SENDING_CIRCUIT_MAX_COOLDOWN": "4",
        "SENDING_LEASE": "30",
        "SENDING_QUEUE_GRACE": "10",
    }
    env.update({key: str(value) for key, value in overrides.items()})
    return env


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_until_ready(*workers, timeout: float = 60) -> None:
    """Until every Celery worker says it is ready: a busy machine takes seconds to boot them, and a
    scenario's clock (an outage, a mailing's end) must not start before they listen."""
    for worker in workers:
        wait_for(lambda w=worker: b" ready." in w.log_path.read_bytes(), timeout, f"{worker.name} to be ready")


def process_ids(*processes: ManagedProcess) -> dict[str, set[int]]:
    """Each process with its group as it runs now: a worker's main process and its pool's children.

    The same ids at the end of a test mean that none of them exited or was replaced meanwhile
    (a pool child that died is replaced by a new one, with a new id).
    """
    return {process.name: process.group_pids() for process in processes}


def sandbox_stats(sandbox_url: str) -> dict:
    return requests.get(f"{sandbox_url}/stats", timeout=5).json()


def sandbox_accepted(sandbox_url: str) -> dict[int, float]:
    return {int(k): v for k, v in requests.get(f"{sandbox_url}/stats/accepted", timeout=10).json().items()}


def sandbox_received(sandbox_url: str) -> dict[str, list[float]]:
    """Each text the sandbox received, with the times its requests arrived."""
    return requests.get(f"{sandbox_url}/stats/received", timeout=10).json()


def accepted_count(sandbox_url: str) -> int:
    try:
        return sandbox_stats(sandbox_url)["accepted"]
    except requests.RequestException:  # the sandbox refusing connections during its outage
        return -1


def make_clients(count: int, tag: str = "") -> None:
    Client.objects.bulk_create(
        (
            Client(phone_number=f"7900{i:07d}", operator_code="900", tag=tag, timezone="Europe/Moscow")
            for i in range(count)
        ),
        batch_size=5000,
    )


def mailing_for(seconds: float, text: str = "Faults", start: datetime | None = None, **filters: str) -> Mailing:
    start = start or timezone.now()
    return services.mailing_create(
        start_datetime=start, end_datetime=start + timedelta(seconds=seconds), message_text=text, **filters
    )


def status_counts(**filters: object) -> dict[str, int]:
    counts = dict.fromkeys(S.values, 0)
    for status in Message.objects.filter(**filters).values_list("status", flat=True):
        counts[status] += 1
    return counts


def all_done(mailing: Mailing) -> bool:
    """The mailing has taken its audience and every message has ended."""
    return mailing.messages.exists() and not mailing.messages.exclude(status__in=TERMINAL).exists()


def report(capsys, name: str, **figures: object) -> None:
    """Print the test's figures even when pytest captures output (they go in docs/reliability.md)."""
    with capsys.disabled():
        print(f"\nFIGURES {name}: " + " ".join(f"{key}={value}" for key, value in figures.items()))
