"""What the fault tests share: sending settings for a quick run, waiting, the sandbox's record, figures."""

import re
import time
from datetime import datetime, timedelta

import requests
from django.utils import timezone

from backoffice.processes import ManagedProcess
from mailings import services
from mailings.models import Client, Mailing, Message
from tests.support.processes import WORKER_READY

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
        worker.wait_for_line(WORKER_READY, timeout)


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


# A request whose answer never came (no status: a timeout, a connection dropped after connecting;
# not a refused connection, which sent nothing) may have been accepted. It is retried with the
# same msgId, and a provider that does not deduplicate (the sandbox) then counts it twice:
# docs/sending.md allows those duplicates and no other.
_MESSAGE_ID = re.compile(r"\bmessage_id=(\d+)\b")


def unanswered_requests(log: str) -> set[int]:
    """The messages whose request got no answer, from a worker's "provider answered" lines (the
    line carries no status then; a refused connection names ClientConnectorError)."""
    return {
        int(_MESSAGE_ID.search(line).group(1))
        for line in log.splitlines()
        if "provider answered" in line and " status=" not in line and 'error="ClientConnectorError' not in line
    }


def duplicates_of_our_doing(stats: dict, cluster) -> list[int]:
    """The msgIds the sandbox accepted twice for which no worker's log shows an unanswered request:
    each one is a message we sent twice ourselves."""
    assert stats["duplicates"] == len(stats["duplicate_ids"]), "more duplicates than the sandbox lists"
    unanswered: set[int] = set()
    for process in cluster.processes:
        if process.name.startswith("worker") and process.log_path.exists():
            unanswered |= unanswered_requests(process.log_path.read_text(errors="replace"))
    return sorted(set(stats["duplicate_ids"]) - unanswered)


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
