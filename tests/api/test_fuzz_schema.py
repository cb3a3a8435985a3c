"""Schemathesis runs the whole JSON API from its own OpenAPI schema with a token that may do
everything: no answer is a 5xx, and every answer matches the schema (status, type, body).

Bounded: a few dozen generated requests per operation (`SCHEMATHESIS_EXAMPLES` to change it).
"""

import json
import os
from types import SimpleNamespace

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mailings import tasks

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25"))

schema = schemathesis.openapi.from_dict(json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True))))
schema.app = get_wsgi_application()


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


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_keeps_its_schema_whatever_it_is_sent(case, token):
    case.call_and_validate(
        headers={"Authorization": f"Token {token}"},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
