"""`POST /providers/<name>/delivery-reports/`: the provider's signature or secret, the body's
checks, and reports repeated, out of order, late or for messages that are not the provider's."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from mailings.counts import fold_message_counts
from mailings.delivery_reports import sign
from mailings.delivery_selectors import delivery_counts_by_mailing
from mailings.models import DeliveryCount, Message
from mailings.services import delivery_reports_close_overdue
from tests.factories import MailingFactory, MessageFactory

SECRET = "report-secret-for-tests"
URL = "/providers/default/delivery-reports/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def secret(settings) -> str:
    settings.DELIVERY_REPORT_SECRET = SECRET
    return SECRET


def _post(body, *, secret: str = SECRET, url: str = URL, how: str = "signature"):
    raw = json.dumps(body).encode()
    headers = {"HTTP_X_SIGNATURE": sign(secret=secret, body=raw)} if how == "signature" else {}
    if how == "bearer":
        headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    return APIClient().post(url, raw, content_type="application/json", **headers)


# Reports' times are minutes after this (an hour ago): the same minutes, the same report.
BASE = timezone.now() - timedelta(hours=1)


def _at(minutes: float) -> str:
    return (BASE + timedelta(minutes=minutes)).isoformat()


def _report(message: Message, status: str = "delivered", minutes: float = 0, error=None) -> dict:
    return {"id": message.id, "status": status, "error_code": error, "reported_at": _at(minutes)}


def _sent(**kwargs) -> Message:
    return MessageFactory(status=Message.Status.SENT, sent_at=timezone.now() - timedelta(hours=2), **kwargs)


def _counts(mailing_id: int) -> dict[str, int]:
    fold_message_counts()
    return delivery_counts_by_mailing(mailing_ids=[mailing_id])[mailing_id]


class TestAuthentication:
    def test_it_takes_a_signed_body(self, secret):
        message = _sent()
        response = _post(_report(message))
        assert response.status_code == 200, response.content
        message.refresh_from_db()
        assert message.delivery_status == Message.DeliveryStatus.DELIVERED

    def test_it_takes_the_secret_as_a_bearer_token(self, secret):
        assert _post(_report(_sent()), how="bearer").json()["applied"] == 1

    @pytest.mark.parametrize("how", ["signature", "bearer"])
    def test_a_wrong_secret_is_401_and_changes_nothing(self, secret, how):
        message = _sent()
        response = _post(_report(message), secret="not-the-secret", how=how)
        assert response.status_code == 401
        message.refresh_from_db()
        assert message.delivery_status == Message.DeliveryStatus.UNKNOWN

    def test_a_signature_of_another_body_is_401(self, secret):
        message = _sent()
        raw = json.dumps(_report(message)).encode()
        other = sign(secret=SECRET, body=raw.replace(b"delivered", b"undelivered"))
        response = APIClient().post(URL, raw, content_type="application/json", HTTP_X_SIGNATURE=other)
        assert response.status_code == 401

    def test_no_credentials_is_401(self, secret):
        assert _post(_report(_sent()), how="none").status_code == 401

    def test_without_a_secret_configured_it_is_403_naming_the_variable(self, settings):
        settings.DELIVERY_REPORT_SECRET = ""
        response = _post(_report(_sent()))
        assert response.status_code == 403
        assert "DELIVERY_REPORT_SECRET" in response.json()["detail"]

    def test_another_provider_has_its_own_secret(self, settings, secret):
        settings.SENDING_PROVIDERS = {"beta": {"url": "http://127.0.0.1:9", "token": "t", "report_secret": ""}}
        response = _post(_report(_sent()), url="/providers/beta/delivery-reports/")
        assert response.status_code == 403
        assert "DELIVERY_REPORT_SECRET_BETA" in response.json()["detail"]

    def test_an_unknown_provider_is_404(self, secret):
        assert _post(_report(_sent()), url="/providers/nobody/delivery-reports/").status_code == 404


class TestChecks:
    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"status": "read"}, "status"),
            ({"id": "abc"}, "id"),
            ({"id": 0}, "id"),
            ({"reported_at": "yesterday"}, "reported_at"),
            ({"error_code": "x" * 101}, "error_code"),
            ({"reported_at": "3285-02-06T10:57:49+19:53"}, "reported_at"),  # beyond PostgreSQL's offsets
            ({"reported_at": "0001-01-01T00:00:00+05:00"}, "reported_at"),  # before year 1 in UTC
            ({"reported_at": "2999-01-01T00:00:00Z"}, "reported_at"),  # would win over every real report
            ({"error_code": "E\x0001"}, "error_code"),  # PostgreSQL cannot store a NUL
            ({"error_code": "E\udc00"}, "error_code"),  # nor an unpaired surrogate
        ],
    )
    def test_a_bad_item_is_400_naming_its_index_and_field_and_nothing_is_written(self, secret, change, field):
        good, bad = _sent(), _sent()
        response = _post([_report(good), {**_report(bad), **change}])
        assert response.status_code == 400
        assert field in response.json()["1"]
        assert not Message.objects.exclude(delivery_status=Message.DeliveryStatus.UNKNOWN).exists()

    def test_a_missing_field_is_named(self, secret):
        response = _post({"id": _sent().id, "status": "delivered"})
        assert response.status_code == 400
        assert "reported_at" in response.json()

    def test_too_many_reports_is_400(self, secret, settings):
        message = _sent()
        assert _post([_report(message)] * 1001).status_code == 400
        assert _post([]).status_code == 400


class TestApplying:
    def test_it_records_status_time_and_error(self, secret):
        delivered, undelivered, expired = _sent(), _sent(), _sent()
        answer = _post(
            [_report(delivered, minutes=1), _report(undelivered, "undelivered", 2, "E42"), _report(expired, "expired")]
        ).json()
        assert answer == {"received": 3, "applied": 3, "stale": 0, "late": 0, "unknown": 0}
        for message in (delivered, undelivered, expired):
            message.refresh_from_db()
        assert delivered.delivery_status == "delivered"
        assert delivered.delivered_at == delivered.reported_at is not None
        assert (undelivered.delivery_status, undelivered.delivery_error) == ("undelivered", "E42")
        assert undelivered.delivered_at is None
        assert (expired.delivery_status, expired.delivery_error) == ("undelivered", "expired")
        assert expired.status == Message.Status.SENT  # a report never changes what we did

    def test_the_latest_report_wins_in_any_order_and_a_duplicate_changes_nothing(self, secret):
        message = _sent()
        assert _post(_report(message, "delivered", minutes=5)).json()["applied"] == 1
        assert _post(_report(message, "undelivered", minutes=1)).json()["stale"] == 1  # older, came later
        assert _post(_report(message, "delivered", minutes=5)).json()["stale"] == 1  # the same again
        message.refresh_from_db()
        assert message.delivery_status == "delivered"
        assert _post(_report(message, "undelivered", minutes=9, error="late-fail")).json()["applied"] == 1
        message.refresh_from_db()
        assert (message.delivery_status, message.delivery_error, message.delivered_at) == (
            "undelivered",
            "late-fail",
            None,
        )
        assert _counts(message.mailing_id) == {"delivered": 0, "undelivered": 1, "no_report": 0}

    def test_within_one_list_the_latest_wins_too(self, secret):
        message = _sent()
        answer = _post([_report(message, "delivered", 9), _report(message, "undelivered", 1)]).json()
        assert (answer["applied"], answer["stale"]) == (1, 1)
        message.refresh_from_db()
        assert message.delivery_status == "delivered"

    def test_unknown_ids_other_providers_and_unsent_messages_are_counted_not_applied(self, secret, caplog):
        other = _sent(provider="beta")
        pending = MessageFactory(status=Message.Status.PENDING)
        ours = _sent()
        answer = _post([_report(other), _report(pending), {**_report(ours), "id": 10**12}, _report(ours)]).json()
        assert answer == {"received": 4, "applied": 1, "stale": 0, "late": 0, "unknown": 3}
        other.refresh_from_db()
        pending.refresh_from_db()
        assert other.delivery_status == pending.delivery_status == "unknown"
        assert "unknown:3" in caplog.text

    def test_the_counts_follow_the_reports(self, secret):
        mailing = MailingFactory()
        messages = [_sent(mailing=mailing) for _ in range(5)]
        _post([_report(m, "delivered" if i < 3 else "undelivered") for i, m in enumerate(messages)])
        assert _counts(mailing.id) == {"delivered": 3, "undelivered": 2, "no_report": 0}
        _post(_report(messages[3], "delivered", minutes=3))  # a later report turns one round
        assert _counts(mailing.id) == {"delivered": 4, "undelivered": 1, "no_report": 0}
        assert DeliveryCount.objects.filter(mailing_id=mailing.id).count() == 2  # folded


class TestTimeout:
    def test_a_message_without_a_report_past_the_timeout_is_unknown_for_good(self, secret, settings):
        settings.DELIVERY_REPORT_TIMEOUT = timedelta(hours=1)
        mailing = MailingFactory()
        overdue, recent = _sent(mailing=mailing), _sent(mailing=mailing)
        Message.objects.filter(id=recent.id).update(sent_at=timezone.now() - timedelta(minutes=10))
        assert delivery_reports_close_overdue(now=timezone.now()) == 1
        overdue.refresh_from_db()
        assert overdue.delivery_status == Message.DeliveryStatus.NO_REPORT
        assert _counts(mailing.id) == {"delivered": 0, "undelivered": 0, "no_report": 1}
        assert delivery_reports_close_overdue(now=timezone.now()) == 0

    def test_a_report_after_the_timeout_is_late_and_changes_nothing(self, secret, settings):
        settings.DELIVERY_REPORT_TIMEOUT = timedelta(hours=1)
        closed, not_yet_closed = _sent(), _sent()
        delivery_reports_close_overdue(now=timezone.now())
        Message.objects.filter(id=not_yet_closed.id).update(delivery_status="unknown")  # before the tick
        answer = _post([_report(closed), _report(not_yet_closed)]).json()
        assert (answer["late"], answer["applied"]) == (2, 0)
        closed.refresh_from_db()
        not_yet_closed.refresh_from_db()
        assert (closed.delivery_status, not_yet_closed.delivery_status) == ("no_report", "unknown")

    def test_a_report_already_recorded_is_not_closed(self, secret, settings):
        settings.DELIVERY_REPORT_TIMEOUT = timedelta(hours=3)
        message = _sent()
        _post(_report(message))
        settings.DELIVERY_REPORT_TIMEOUT = timedelta(hours=1)
        assert delivery_reports_close_overdue(now=timezone.now()) == 0


class TestDocumentedContract:
    """docs/provider-openapi.yaml offers providers this callback: it says what the endpoint takes and answers."""

    @staticmethod
    def _document() -> dict:
        import yaml

        from backoffice.processes import ROOT

        return yaml.safe_load((ROOT / "docs" / "provider-openapi.yaml").read_text())

    def test_the_callback_matches_the_endpoint(self):
        from mailings.api.delivery_reports import MAX_REPORTS, DeliveryReportAnswerSerializer

        document = self._document()
        [callback] = document["paths"]["/send/{msgId}"]["post"]["callbacks"]["deliveryReports"].items()
        url, operation = callback
        assert url.endswith("/providers/default/delivery-reports/")
        assert set(operation["post"]["responses"]) == {"200", "400", "401", "403", "404"}
        schemas = document["components"]["schemas"]
        assert schemas["DeliveryReport"]["properties"]["status"]["enum"] == ["delivered", "undelivered", "expired"]
        assert set(schemas["DeliveryReport"]["properties"]) == {"id", "status", "error_code", "reported_at"}
        assert set(schemas["DeliveryReportAnswer"]["properties"]) == set(DeliveryReportAnswerSerializer().fields)
        body = operation["post"]["requestBody"]["content"]["application/json"]["schema"]["oneOf"][1]
        assert body["maxItems"] == MAX_REPORTS
        schemes = document["components"]["securitySchemes"]
        assert schemes["reportSignature"]["name"] == "X-Signature"

    def test_a_body_the_document_describes_is_taken(self, secret):
        import jsonschema

        schema = self._document()["components"]["schemas"]["DeliveryReport"]
        report = {"id": _sent().id, "status": "expired", "reported_at": _at(0)}
        jsonschema.validate(report, {k: v for k, v in schema.items()})
        assert _post(report).json()["applied"] == 1


@pytest.mark.django_db(transaction=True)
class TestRaces:
    def test_lists_racing_for_the_same_messages_end_with_the_latest_report_each(self):
        """Four connections post overlapping lists in shuffled order at once: every message ends with
        the report whose reported_at is the latest of all posted, and the counts agree."""
        import random
        import threading

        from django.db import connection, connections

        from mailings.services import DeliveryReport, delivery_reports_apply

        if connection.vendor != "postgresql":
            pytest.skip("concurrent writers: PostgreSQL")
        mailing = MailingFactory()
        ids = [_sent(mailing=mailing).id for _ in range(200)]
        lists = []
        for seed in range(8):
            rolls = random.Random(seed)
            chosen = rolls.sample(ids, 150)
            lists.append(
                [
                    DeliveryReport(
                        i,
                        rolls.choice(["delivered", "undelivered"]),
                        "",
                        BASE + timedelta(seconds=rolls.randrange(10_000)),
                    )
                    for i in chosen
                ]
            )
        errors = []

        def post(mine):
            try:
                for reports in mine:
                    delivery_reports_apply(provider="default", reports=reports, now=timezone.now())
            except Exception as exc:
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=post, args=(lists[n::4],)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        latest = {}
        for report in (r for reports in lists for r in reports):
            if report.message_id not in latest or report.reported_at > latest[report.message_id].reported_at:
                latest[report.message_id] = report
        recorded = {m.id: (m.delivery_status, m.reported_at) for m in Message.objects.filter(id__in=latest)}
        assert recorded == {i: (r.status, r.reported_at) for i, r in latest.items()}
        expected = {"delivered": 0, "undelivered": 0, "no_report": 0}
        for report in latest.values():
            expected[report.status] += 1
        assert _counts(mailing.id) == expected


class TestTheTick:
    def test_the_tick_closes_the_wait_for_reports(self, settings):
        from mailings.sending.processor import mailings_process

        settings.DELIVERY_REPORT_TIMEOUT = timedelta(hours=1)
        message = _sent()
        assert mailings_process()["reports_overdue"] == 1
        message.refresh_from_db()
        assert message.delivery_status == Message.DeliveryStatus.NO_REPORT
