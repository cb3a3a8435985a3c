"""Schemathesis runs every operation of the JSON API from its own OpenAPI schema, with a token that
may do everything (the providers' `/inbound/` and `/providers/` endpoints: the provider's secrets), against a database
seeded with clients, mailings in every status, messages and phones on the do-not-contact list:
no answer is a 5xx, every answer matches the schema (status, type, body), and each operation
answered at least once with a 2xx (it reached the logic, not only the 404 or 400 handler), with a
404 when it takes an id, and with the 409 of each conflict it refuses.

Each generated request runs against the same seeded rows (a savepoint per request, rolled back):
path ids and the ids a body or query refers to are mostly those of seeded rows, the rest as
generated. One test per operation generates its requests and asserts on the answers it saw, so no
test depends on another having run.

Bounded: `SCHEMATHESIS_EXAMPLES` generated requests per operation (25 by default).
"""

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import time, timedelta
from types import SimpleNamespace

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mailings import tasks
from mailings.models import Client, Mailing, Message, Suppression

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

INBOUND_SECRET = "fuzzed-provider-secret"  # pragma: allowlist secret
REPORT_SECRET = "fuzzed-report-secret"  # pragma: allowlist secret


def _provider_secret_on_inbound(app):
    """Every request carries the fuzzer's token; the providers' endpoint (`/inbound/<provider>/`)
    authenticates by the provider's secret instead, so its requests carry that. (Here rather than
    in the test: Hypothesis derives its examples from the test's source.)"""

    def with_secret(environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/inbound/"):
            environ["HTTP_AUTHORIZATION"] = f"Bearer {INBOUND_SECRET}"
        if environ.get("PATH_INFO", "").startswith("/providers/"):
            environ["HTTP_AUTHORIZATION"] = f"Bearer {REPORT_SECRET}"
        return app(environ, start_response)

    return with_secret


schema = schemathesis.openapi.from_dict(json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True))))
schema.app = _provider_secret_on_inbound(get_wsgi_application())

# The conflicts (409) each operation must have been seen refusing, given the seeded rows: a
# closed mailing no longer changes, a mailing with messages is not deleted, only some statuses
# pause, resume or cancel, and a message on the wire is not touched.
CONFLICTS = {
    "PUT /mailings/{id}/": {409},
    "PATCH /mailings/{id}/": {409},
    "DELETE /mailings/{id}/": {409},
    "POST /mailings/{id}/pause/": {409},
    "POST /mailings/{id}/resume/": {409},
    "POST /mailings/{id}/cancel/": {409},
    "POST /mailings/{id}/retry-failed/": {409},
    "PUT /messages/{id}/": {409},
    "PATCH /messages/{id}/": {409},
    "DELETE /messages/{id}/": {409},
}


@dataclass(frozen=True)
class Seeded:
    """Ids of the seeded rows, by model; `message_mailing` maps each message to its mailing."""

    clients: list[int]
    mailings: list[int]
    messages: list[int]
    message_mailing: dict[int, int]
    suppressed: list[str] = field(default_factory=list)  # phones on the do-not-contact list

    def ids_for(self, path: str) -> list[int]:
        for prefix, ids in (("/clients/", self.clients), ("/mailings/", self.mailings), ("/messages/", self.messages)):
            if path.startswith(prefix):
                return ids
        return []


def seed() -> Seeded:
    """A client without messages and two with; mailings in every status, two of them scheduled (one
    with a sending window) and one paused before it started; messages in the idle statuses and one
    being sent: enough for every operation to succeed and to refuse."""
    now = timezone.now()
    idle, busy, other = (
        Client.objects.create(phone_number=f"7900000000{n}", timezone="Europe/Moscow", operator_code="900")
        for n in range(3)
    )
    ahead = {"start_datetime": now + timedelta(days=1), "end_datetime": now + timedelta(days=2)}
    started = {"start_datetime": now - timedelta(hours=1), "end_datetime": now + timedelta(days=1)}
    ended = {"start_datetime": now - timedelta(days=2), "end_datetime": now - timedelta(days=1)}
    window = {"send_window_start": time(9), "send_window_end": time(21)}
    mailings = [
        Mailing.objects.create(message_text=f"seeded {state}", status=state, **fields)
        for state, fields in [
            (Mailing.Status.SCHEDULED, ahead),
            (Mailing.Status.SCHEDULED, {**ahead, **window}),
            (Mailing.Status.RUNNING, {**started, "started_at": started["start_datetime"]}),
            (Mailing.Status.PAUSED, {**started, "started_at": started["start_datetime"]}),
            (Mailing.Status.PAUSED, ahead),
            (Mailing.Status.FINISHED, {**ended, "started_at": ended["start_datetime"], "finished_at": now}),
            (Mailing.Status.CANCELLED, {**ended, "finished_at": now}),
        ]
    ]
    running, paused, finished, cancelled = mailings[2], mailings[3], mailings[5], mailings[6]
    messages = [
        Message.objects.create(mailing=mailing, client=client, phone_number=client.phone_number, status=status)
        for mailing, client, status in [
            (running, busy, Message.Status.PENDING),
            (running, other, Message.Status.SENDING),
            (paused, busy, Message.Status.FAILED),
            (finished, busy, Message.Status.SENT),
            (cancelled, other, Message.Status.CANCELLED),
        ]
    ]
    suppressed = [Suppression.objects.create(phone_number=f"7913000000{n}").phone_number for n in range(3)]
    return Seeded(
        suppressed=suppressed,
        clients=[idle.pk, busy.pk, other.pk],
        mailings=[mailing.pk for mailing in mailings],
        messages=[message.pk for message in messages],
        message_mailing={message.pk: message.mailing_id for message in messages},
    )


UNLISTED_PHONE = "79139999999"


def _aimed(value: object, ids: list[int], turn: int | None = None) -> object:
    """A seeded id, or the generated value itself one time in `len(ids) + 1` (unknown ids stay
    covered). The generated value chooses, so Hypothesis still drives and shrinks the choice;
    `turn` chooses instead in the phases whose cases are fixed (the schema's examples, coverage),
    which would otherwise send all their cases to the same row."""
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdecimal() or not ids:
        return value  # not an id at all (a negative case): left as generated, to be refused
    chosen = [*ids, None][(int(value) if turn is None else turn) % (len(ids) + 1)]
    if chosen is None:
        return value
    return chosen if isinstance(value, int) else str(chosen)


def aim(case, seeded: Seeded, turn: int | None) -> bool:
    """Point the case's path id, and the mailing or client its query or body names, at seeded
    rows. A correction of a message names the message's own mailing more often than not: a
    message never moves to another mailing, and the request would only be refused. Says whether
    the path had an id to aim (the fixed phases take turns over those cases only, so that their
    few id-like cases meet the first seeded rows whatever order the generator lists them in)."""
    if case.meta.phase.name == TestPhase.FUZZING:
        turn = None
    target = case.path_parameters.get("id")
    aimed = target is not None and str(target).isdecimal()
    if target is not None:
        target = case.path_parameters["id"] = _aimed(target, seeded.ids_for(case.path), turn)
    phone = case.path_parameters.get("phone_number")
    if phone is not None:  # a listed phone, a phone not listed (a 404) or the generated one (mostly a 400)
        choices = [*seeded.suppressed, UNLISTED_PHONE, phone]
        case.path_parameters["phone_number"] = choices[(turn if turn is not None else len(str(phone))) % len(choices)]
        aimed = True
    own = None
    if case.path.startswith("/messages/") and str(target).isdecimal():
        own = seeded.message_mailing.get(int(target))
    mailings = [own] * len(seeded.mailings) + seeded.mailings if own else seeded.mailings
    for container in (case.query, case.body):
        if isinstance(container, dict):
            for name, ids in (("mailing", mailings), ("client", seeded.clients)):
                if name in container:
                    container[name] = _aimed(container[name], ids)
    return aimed


@dataclass
class Answers:
    """The status codes one operation answered with, and whether a request failed a check."""

    label: str
    statuses: Counter = field(default_factory=Counter)
    sent: int = 0
    aimed: int = 0  # the requests whose path id was aimed at a seeded row
    failed: bool = False

    def missing(self) -> set[str]:
        wanted = {"2xx", *CONFLICTS.get(self.label, ())}
        if "{id}" in self.label or "{phone_number}" in self.label:
            wanted.add(404)
        seen = {*self.statuses, *("2xx" for status in self.statuses if 200 <= status < 300)}
        return wanted - seen


@pytest.fixture
def in_test_transaction():
    """Requests go through a real WSGI handler, whose end-of-request hook would close the database
    connection that holds the test's transaction; Django's own test client unhooks it the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def no_pass_on_the_broker(monkeypatch):
    """POST /activate_mailing/ queues a processing pass: keep the fuzzer's dozens of them off the
    real broker, where this run's queue would hand them to the workers of later tests."""
    monkeypatch.setattr(tasks.process_active_mailings, "apply_async", lambda **options: SimpleNamespace(id="fuzzed"))


@pytest.fixture
def token(db, in_test_transaction, no_pass_on_the_broker, django_user_model) -> str:
    user, _ = django_user_model.objects.get_or_create(
        username="fuzzer", defaults={"is_superuser": True, "is_staff": True}
    )
    return Token.objects.get_or_create(user=user)[0].key


@pytest.fixture(autouse=True)
def inbound_secret(settings) -> str:
    settings.INBOUND_SECRET = INBOUND_SECRET
    settings.DELIVERY_REPORT_SECRET = REPORT_SECRET
    return INBOUND_SECRET


@pytest.fixture
def seeded(db) -> Seeded:
    return seed()


@pytest.fixture
def answers(request) -> Answers:
    """Collects the answers to every request generated for this test's operation, then wants a
    2xx among them (and the 404 and 409s it should give), unless a request already failed."""
    collected = Answers(label=request.node.operation_label)
    yield collected
    if not collected.failed:
        assert not collected.missing(), (
            f"{collected.label} never answered {sorted(map(str, collected.missing()))}; "
            f"it answered {dict(collected.statuses)}"
        )


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_keeps_its_schema_whatever_it_is_sent(case, token, seeded, answers):
    answers.aimed += aim(case, seeded, turn=answers.aimed)
    answers.sent += 1
    headers = {"Authorization": f"Token {token}"}
    try:
        with transaction.atomic():  # every request meets the seeded rows as they were seeded
            response = case.call(headers=headers)
            transaction.set_rollback(True)
        if case.method.upper() == case.operation.method.upper():  # not one of the undocumented methods tried
            answers.statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)
    except BaseException:
        answers.failed = True
        raise
