"""The fault tests' reading of the workers' logs: which requests got no answer."""

import logging

from backoffice.logs import KeyValueFormatter
from tests.integration.faults import unanswered_requests


def _line(message_id: int, **fields) -> str:
    record = logging.LogRecord("mailings.sending.sender", logging.INFO, __file__, 1, "provider answered", (), None)
    for name, value in {"mailing_id": 1, "message_id": message_id, "client_id": 9, "attempt": 1, **fields}.items():
        setattr(record, name, value)
    return KeyValueFormatter().format(record)


def test_only_requests_that_may_have_been_accepted_without_an_answer_are_unanswered():
    log = "\n".join(
        [
            _line(1, status=200, outcome="sent"),
            _line(2, outcome="transient", error="timed out after 1.0s"),
            _line(3, outcome="transient", error="ServerDisconnectedError: Server disconnected"),
            _line(4, outcome="transient", error="ClientConnectorError: Cannot connect to host 127.0.0.1:9"),
            _line(5, status=503, outcome="transient", error="503: down"),
            "2026-01-01 00:00:00,000 INFO mailings.sending.batch batch done mailing_id=1 count=200",
        ]
    )
    assert unanswered_requests(log) == {2, 3}
