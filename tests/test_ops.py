"""/healthz, /readyz and /metrics against the real database and Redis."""

import ipaddress
import multiprocessing
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from backoffice.celery import app as celery_app
from mailings import metrics
from mailings.models import Mailing, Message, MessageCount
from mailings.sending.batch import batch_send
from mailings.sending.circuit import Circuit, CircuitSettings
from mailings.sending.config import SendingConfig
from tests.factories import MailingFactory, MessageFactory

S = Message.Status


def _samples(body: bytes) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a Prometheus text page."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


@pytest.fixture
def store():
    """The real shared store (Redis in the tests), emptied around each test."""
    shared = metrics.metrics_store()
    shared.clear()
    yield shared
    shared.clear()


class TestHealthz:
    def test_it_answers_without_touching_the_database(self, client):
        # No django_db mark: pytest-django makes any database access an error here.
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    def test_it_refuses_writes(self, client):
        assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
class TestReadyz:
    def test_it_is_ready_when_the_database_and_the_broker_answer(self, client):
        response = client.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "failed": [], "checks": {"database": "ok", "broker": "ok"}}

    def test_it_names_a_broker_that_does_not_answer(self, client, monkeypatch):
        from backoffice.processes import bound_socket

        with bound_socket() as refusing:  # bound, never listening: nobody else can answer there
            monkeypatch.setattr(celery_app.conf, "broker_url", f"redis://127.0.0.1:{refusing.getsockname()[1]}/0")
            response = client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable"
        assert body["failed"] == ["broker"]
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["broker"].startswith("unavailable (")
        assert "127.0.0.1" not in response.content.decode()  # no host names on a public page

    def test_it_names_a_database_that_does_not_answer(self, client, monkeypatch):
        def broken(*args, **kwargs):
            raise OperationalError("connection refused")

        monkeypatch.setattr(connection, "cursor", broken)
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["failed"] == ["database"]
        assert response.json()["checks"]["broker"] == "ok"


@pytest.mark.django_db
class TestMetricsAccess:
    def test_loopback_only_when_nothing_is_configured(self, client, settings):
        settings.METRICS_TOKEN, settings.METRICS_ALLOWED_NETWORKS = "", []
        assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
        assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
        assert client.get("/metrics", REMOTE_ADDR="10.0.0.5").status_code == 403

    def test_a_token_opens_it_from_anywhere_and_a_wrong_one_does_not(self, client, settings):
        settings.METRICS_TOKEN, settings.METRICS_ALLOWED_NETWORKS = "s3cret-scrape", []
        far = {"REMOTE_ADDR": "203.0.113.9"}
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape", **far).status_code == 200
        wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope", **far)
        assert wrong.status_code == 401
        missing = client.get("/metrics", **far)
        assert missing.status_code == 401
        assert missing["WWW-Authenticate"].startswith("Bearer")
        # With a token configured, loopback needs it too.
        assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401

    def test_allowed_networks(self, client, settings):
        settings.METRICS_TOKEN = ""
        settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.0.0.0/8")]
        assert client.get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
        assert client.get("/metrics", REMOTE_ADDR="::ffff:10.20.30.40").status_code == 200
        assert client.get("/metrics", REMOTE_ADDR="192.168.1.1").status_code == 403
        assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403

    def test_token_or_network(self, client, settings):
        settings.METRICS_TOKEN = "s3cret-scrape"
        settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.0.0.0/8")]
        assert client.get("/metrics", REMOTE_ADDR="10.1.1.1").status_code == 200
        assert client.get("/metrics", REMOTE_ADDR="192.168.1.1").status_code == 401
        ok = client.get("/metrics", REMOTE_ADDR="192.168.1.1", HTTP_AUTHORIZATION="Bearer s3cret-scrape")
        assert ok.status_code == 200


@pytest.mark.django_db
class TestMetricsContent:
    def test_it_reports_messages_and_mailings_by_status(self, client, store):
        running = MailingFactory(status=Mailing.Status.RUNNING)
        MailingFactory(status=Mailing.Status.SCHEDULED)
        for status, n in ((S.SENT, 3), (S.FAILED, 1), (S.PENDING, 2)):
            for _ in range(n):
                MessageFactory(mailing=running, status=status)
        response = client.get("/metrics")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=0.0.4")
        samples = _samples(response.content)
        assert samples[("backoffice_messages", (("status", "sent"),))] == 3
        assert samples[("backoffice_messages", (("status", "failed"),))] == 1
        assert samples[("backoffice_messages", (("status", "expired"),))] == 0
        assert samples[("backoffice_messages_waiting", ())] == 2
        assert samples[("backoffice_mailings", (("status", "running"),))] == 1
        assert samples[("backoffice_mailings", (("status", "scheduled"),))] == 1
        assert samples[("backoffice_mailings", (("status", "finished"),))] == 0
        assert (
            samples[
                (
                    "backoffice_provider_circuit",
                    (
                        ("provider", "default"),
                        ("state", "closed"),
                    ),
                )
            ]
            == 1
        )
        assert (
            samples[
                (
                    "backoffice_provider_circuit",
                    (
                        ("provider", "default"),
                        ("state", "open"),
                    ),
                )
            ]
            == 0
        )
        assert samples[("backoffice_metrics_source_up", (("source", "database"),))] == 1
        assert samples[("backoffice_metrics_source_up", (("source", "store"),))] == 1

    def test_waiting_counts_the_messages_on_the_wire_too(self, client, store):
        mailing = MailingFactory(status=Mailing.Status.RUNNING)
        for status in (S.PENDING, S.SENDING, S.SENDING, S.SENT, S.EXPIRED):
            MessageFactory(mailing=mailing, status=status)
        samples = _samples(client.get("/metrics").content)
        assert samples[("backoffice_messages_waiting", ())] == 3

    def test_message_figures_come_from_the_counts_not_the_message_table(self, client, store):
        mailing = MailingFactory()
        MessageCount.objects.create(mailing_id=mailing.pk, status=S.SENT, day=timezone.now().date(), delta=1_000_000)
        samples = _samples(client.get("/metrics").content)
        assert samples[("backoffice_messages", (("status", "sent"),))] == 1_000_000

    def test_it_shows_an_open_circuit(self, client, store):
        Circuit(CircuitSettings()).open("HTTP 401: the provider refused our token")
        samples = _samples(client.get("/metrics").content)
        assert (
            samples[
                (
                    "backoffice_provider_circuit",
                    (
                        ("provider", "default"),
                        ("state", "open"),
                    ),
                )
            ]
            == 1
        )
        assert (
            samples[
                (
                    "backoffice_provider_circuit",
                    (
                        ("provider", "default"),
                        ("state", "closed"),
                    ),
                )
            ]
            == 0
        )

    def test_each_provider_has_its_own_requests_and_circuit(self, client, store, settings):
        settings.SENDING_PROVIDERS = {"b": {"url": "http://b.example", "token": "t", "enabled": True}}
        Circuit(CircuitSettings(), "b").open("HTTP 503 five times")
        tally = metrics.RequestTally()
        tally.add(provider="b", outcome="sent", duration=0.02)
        tally.add(provider="b", outcome="transient", duration=0.02)
        metrics.record_provider_requests(tally)
        samples = _samples(client.get("/metrics").content)
        assert samples[("backoffice_provider_circuit", (("provider", "b"), ("state", "open")))] == 1
        assert samples[("backoffice_provider_circuit", (("provider", "default"), ("state", "closed")))] == 1
        assert samples[("backoffice_provider_requests_total", (("outcome", "sent"), ("provider", "b")))] == 1
        assert samples[("backoffice_provider_requests_total", (("outcome", "sent"), ("provider", "default")))] == 0
        histogram = "backoffice_provider_request_duration_seconds_count"
        assert samples[(histogram, (("provider", "b"),))] == 2

    def test_it_has_no_per_message_or_per_client_labels(self, client, store):
        MessageFactory(status=S.SENT)
        label_names = {
            name for family in text_string_to_metric_families(client.get("/metrics").content.decode())
            for sample in family.samples for name in sample.labels
        }  # fmt: skip
        assert label_names <= {"status", "outcome", "state", "source", "le", "mailing", "delivery_status", "provider"}

    def test_a_store_that_does_not_answer_leaves_the_rest(self, client, settings):
        from backoffice.processes import bound_socket

        with bound_socket() as refusing:  # bound, never listening: nobody else can answer there
            settings.METRICS_STORE_URL = f"redis://127.0.0.1:{refusing.getsockname()[1]}/0"
            response = client.get("/metrics")
        assert response.status_code == 200
        samples = _samples(response.content)
        assert samples[("backoffice_metrics_source_up", (("source", "store"),))] == 0
        assert ("backoffice_messages", (("status", "sent"),)) in samples


@pytest.mark.django_db(transaction=True)
class TestProviderRequestMetrics:
    def test_a_worker_batch_adds_its_requests_and_their_latency(self, client, store, sandbox_factory):
        sandbox_factory(latency_ms=30)
        now = timezone.now()
        mailing = MailingFactory(
            status=Mailing.Status.RUNNING, started_at=now, start_datetime=now - timedelta(minutes=1)
        )
        ids = [MessageFactory(mailing=mailing, token=77).pk for _ in range(4)]
        circuit = Circuit(CircuitSettings(refresh=0))
        batch_send(
            mailing_id=mailing.pk, message_ids=ids, token=77, config=SendingConfig.from_settings(), circuits=circuit
        )

        samples = _samples(client.get("/metrics").content)
        assert samples[("backoffice_provider_requests_total", (("outcome", "sent"), ("provider", "default")))] == 4
        assert samples[("backoffice_provider_requests_total", (("outcome", "transient"), ("provider", "default")))] == 0
        histogram = "backoffice_provider_request_duration_seconds"
        assert samples[(f"{histogram}_count", (("provider", "default"),))] == 4
        assert (
            samples[(f"{histogram}_bucket", (("le", "0.025"), ("provider", "default")))] == 0
        )  # 30 ms of latency each
        assert samples[(f"{histogram}_bucket", (("le", "+Inf"), ("provider", "default")))] == 4
        assert 4 * 0.03 <= samples[(f"{histogram}_sum", (("provider", "default"),))] < 4 * 1.0

    def test_failures_are_counted_by_outcome(self, client, store, sandbox_factory):
        sandbox_factory(error_rate=1.0)
        now = timezone.now()
        mailing = MailingFactory(
            status=Mailing.Status.RUNNING, started_at=now, start_datetime=now - timedelta(minutes=1)
        )
        ids = [MessageFactory(mailing=mailing, token=78).pk for _ in range(3)]
        circuit = Circuit(CircuitSettings(threshold=100, refresh=0))
        batch_send(
            mailing_id=mailing.pk, message_ids=ids, token=78, config=SendingConfig.from_settings(), circuits=circuit
        )
        samples = _samples(client.get("/metrics").content)
        assert samples[("backoffice_provider_requests_total", (("outcome", "transient"), ("provider", "default")))] == 3
        assert samples[("backoffice_provider_requests_total", (("outcome", "sent"), ("provider", "default")))] == 0


def _add_many(path: str, times: int) -> None:
    store = metrics.FileStore(__import__("pathlib").Path(path))
    for _ in range(times):
        tally = metrics.RequestTally()
        tally.add(outcome="sent", duration=0.02)
        store.add(dict(tally.fields))


class TestStores:
    def test_the_redis_store_adds_tallies_from_many_batches(self, store):
        for duration in (0.005, 0.2, 30.0):
            tally = metrics.RequestTally()
            tally.add(outcome="sent", duration=duration)
            metrics.record_provider_requests(tally)
        data = store.read()
        assert data["requests:default:sent"] == 3
        assert data["duration_bucket:default:0.01"] == 1
        assert data["duration_bucket:default:0.25"] == 1
        assert data["duration_bucket:default:+Inf"] == 1
        assert data["duration_sum_us:default"] == 30_205_000

    def test_the_file_store_adds_up_across_processes(self, tmp_path):
        path = tmp_path / "metrics.json"
        context = multiprocessing.get_context("fork")
        workers = [context.Process(target=_add_many, args=(str(path), 50)) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        assert metrics.FileStore(path).read()["requests:default:sent"] == 200
