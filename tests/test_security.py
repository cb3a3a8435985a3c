"""Closing the doors: no secret in the repository, the provider token in no log line or error page,
the admin for staff only."""

import json
import logging
import math
import re
import subprocess
import threading
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone
from django.views.debug import SafeExceptionReporterFilter

from mailings.models import Mailing, Message
from mailings.sending.batch import batch_send
from mailings.sending.circuit import Circuit, CircuitSettings, circuit_state
from mailings.sending.config import SendingConfig
from tests.factories import MailingFactory, MessageFactory

ROOT = Path(__file__).resolve().parents[1]

# Kinds of credentials that must never be committed.
_PATTERNS = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "JWT": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
}
_ASSIGNED = re.compile(r"""(?i)(?:secret|token|passw(?:or)?d|api[_-]?key)\w*["']?\s*[:=]\s*["']([^"'\s]{12,})["']""")
_URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^:/@\s'\"]+:([^@/\s'\"]+)@")
_PLACEHOLDER = re.compile(r"^(?:\$\{?[A-Za-z_:?-]+\}?|[a-z0-9]+(?:[-_.][a-z0-9]+)+|<[^>]+>|\*+)$")
# A test's deliberately secret-looking value says so on its line (detect-secrets' convention).
_ALLOWED = "pragma: allowlist secret"


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def find_secrets(text: str) -> list[str]:
    """What in this text looks like a real credential (not a placeholder such as `sandbox-test-token`)."""
    text = "\n".join(line for line in text.splitlines() if _ALLOWED not in line)
    found = [kind for kind, pattern in _PATTERNS.items() if pattern.search(text)]
    for match in _ASSIGNED.finditer(text):
        value = match.group(1)
        if not _PLACEHOLDER.match(value) and _entropy(value) > 3.5:
            found.append(f"assigned secret {value[:4]}…")
    for match in _URL_PASSWORD.finditer(text):
        value = match.group(1)
        if not _PLACEHOLDER.match(value) and value not in {"pass", "password", "postgres", "guest"}:
            found.append(f"password in a URL {value[:2]}…")
    return found


class TestNoSecretInTheRepository:
    def test_the_scanner_finds_planted_secrets(self):
        planted = [
            "-----BEGIN RSA " + "PRIVATE KEY-----",
            "key = 'AKIA" + "QWERTYUIOPASDFGH'",
            "SENDING_API_TOKEN = '"
            + "eyJhbGciOiJIUzI1NiJ9"
            + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0"
            + ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'",
            'SECRET_KEY = "' + "k3#v9!Qz@7pL2^xR8&mW4*tY6" + '"',
            "DATABASE_URL=postgres://app:" + "Zq8vT3kL9wX2@db:5432/app",
        ]
        for text in planted:
            assert find_secrets(text), text
        for text in ["SENDING_API_TOKEN = 'sandbox-test-token'", "DATABASE_URL=postgres://postgres@127.0.0.1/x",
                     "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it}"]:  # fmt: skip
            assert not find_secrets(text), text

    def test_no_tracked_file_holds_one(self):
        files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        leaks = {}
        for name in filter(None, files.decode().split("\0")):
            path = ROOT / name
            if path.is_file() and path.stat().st_size < 2_000_000:
                found = find_secrets(path.read_text(errors="replace"))
                if found:
                    leaks[name] = found
        assert not leaks


TOKEN = "Sup3r-S3cret-Provider-Token-do-not-log"  # pragma: allowlist secret


def _send_three_messages() -> Mailing:
    """A running mailing's three messages sent in one batch to the configured provider."""
    now = timezone.now()
    mailing = MailingFactory(
        status=Mailing.Status.RUNNING, started_at=now, start_datetime=now, end_datetime=now + timedelta(hours=1)
    )
    ids = [MessageFactory(mailing=mailing, token=7).pk for _ in range(3)]
    batch_send(
        mailing_id=mailing.pk, message_ids=ids, token=7, config=SendingConfig.from_settings(),
        circuits=Circuit(CircuitSettings(threshold=1, cooldown=30, refresh=0)),
    )  # fmt: skip
    return mailing


@pytest.mark.django_db(transaction=True)
class TestTheProviderTokenStaysSecret:
    @pytest.mark.parametrize(
        "knobs",
        [{"token": "another-token"}, {"error_rate": 1.0}, {"garbage_rate": 1.0}],
        ids=["refused-token", "errors", "garbage"],
    )
    def test_no_log_line_and_no_recorded_error_shows_it(self, sandbox_factory, settings, caplog, knobs):
        sandbox_factory(**knobs)
        settings.SENDING_API_TOKEN = TOKEN
        caplog.set_level(logging.DEBUG)
        _send_three_messages()
        assert caplog.records  # every request is logged...
        assert TOKEN not in caplog.text  # ...without the token
        assert all(TOKEN not in error for error in Message.objects.values_list("last_error", flat=True))

    @pytest.mark.parametrize("status", [400, 503])
    def test_a_provider_that_echoes_our_authorization_shows_it_nowhere(
        self, echoing_provider, settings, caplog, admin_client, status
    ):
        echoing_provider.status = status
        settings.SENDING_API_URL, settings.SENDING_API_TOKEN = echoing_provider.url, TOKEN
        caplog.set_level(logging.DEBUG)
        mailing = _send_three_messages()
        page = admin_client.post(
            f"/admin/mailings/mailing/{mailing.pk}/test-message/", {"phone_number": "79001234567"}, follow=True
        ).content.decode()

        assert echoing_provider.echoed == [f"Bearer {TOKEN}"] * 4  # three messages and the test message
        errors = list(Message.objects.values_list("last_error", flat=True))
        assert all("Authorization" in error for error in errors)  # the echo is kept, masked
        shown = {
            "last_error": errors,
            "circuit reason": (circuit_state() or {}).get("reason", ""),
            "test send page": page,
            "mailing history": [entry.get_change_message() for entry in LogEntry.objects.all()],
            "log": [record.getMessage() + repr(record.__dict__) for record in caplog.records],
        }
        assert "Test message to 79001234567 not sent: HTTP " in page
        assert status == 400 or "Authorization" in shown["circuit reason"]
        assert {where: TOKEN in repr(text) for where, text in shown.items()} == dict.fromkeys(shown, False)
        assert all(len(error) < 400 for error in errors)  # the 1000 x of the answer cut

    def test_the_error_pages_settings_dump_masks_it(self, settings):
        settings.SENDING_API_TOKEN = TOKEN
        safe = SafeExceptionReporterFilter().get_safe_settings()
        assert safe["SENDING_API_TOKEN"] != TOKEN
        assert TOKEN not in repr(safe)


class _EchoingProvider(ThreadingHTTPServer):
    """A provider that answers `status` with the request's headers in its body, as some do."""

    status = 400

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Echo)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.echoed: list[str] = []


class _Echo(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.echoed.append(self.headers["Authorization"])
        body = json.dumps(
            {"code": self.server.status, "message": "bad request", "headers": dict(self.headers), "more": "x" * 1000}
        )
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def echoing_provider():
    server = _EchoingProvider()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_the_admin_is_for_staff_only(client, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(username="api-only", password="pw-123456-x", is_staff=False)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="mailings"))
    client.force_login(user)
    for url in ["/admin/", "/admin/mailings/client/", "/admin/mailings/mailing/", "/admin/mailings/client/import/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url
