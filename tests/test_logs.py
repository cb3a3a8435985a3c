import io
import json
import logging

import pytest

from backoffice.logs import JsonFormatter, KeyValueFormatter


@pytest.fixture
def capture():
    """A real logger writing through a formatter into a buffer: `log, output = capture(formatter)`."""
    loggers = []

    def make(formatter: logging.Formatter):
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        logger = logging.getLogger(f"tests.logs.{len(loggers)}.{id(stream)}")
        logger.handlers[:] = [handler]
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        loggers.append(logger)
        return logger, lambda: stream.getvalue().splitlines()

    yield make
    for logger in loggers:
        logger.handlers.clear()


class TestKeyValueFormatter:
    def test_it_appends_the_context_fields(self, capture):
        log, lines = capture(KeyValueFormatter())
        log.info("provider answered", extra={"mailing_id": 42, "message_id": 7})
        (line,) = lines()
        assert line.endswith(f" INFO {log.name} provider answered mailing_id=42 message_id=7")

    def test_it_keeps_the_field_order_of_the_formatter(self, capture):
        log, lines = capture(KeyValueFormatter())
        log.warning("x", extra={"attempt": 2, "client_id": 3, "mailing_id": 1})
        assert lines()[0].endswith(" x mailing_id=1 client_id=3 attempt=2")

    def test_it_quotes_values_with_spaces_or_quotes(self, capture):
        log, lines = capture(KeyValueFormatter())
        log.error("failed", extra={"message_id": 7, "error": 'HTTP 500: "try later"'})
        assert lines()[0].endswith(' failed message_id=7 error="HTTP 500: \\"try later\\""')

    def test_it_quotes_an_empty_value(self, capture):
        log, lines = capture(KeyValueFormatter())
        log.info("x", extra={"error": ""})
        assert lines()[0].endswith(' x error=""')

    def test_it_omits_none_but_keeps_zero(self, capture):
        log, lines = capture(KeyValueFormatter())
        log.info("x", extra={"mailing_id": 42, "client_id": None, "status": None, "count": 0, "attempt": 0})
        line = lines()[0]
        assert line.endswith(" x mailing_id=42 attempt=0 count=0")
        assert "client_id" not in line
        assert "status" not in line

    def test_it_adds_nothing_without_context(self, capture):
        log, lines = capture(KeyValueFormatter())
        log.info("plain %s", "message")
        assert lines()[0].endswith(" plain message")
        assert "=" not in lines()[0]

    def test_it_ignores_extra_fields_that_are_not_context(self, capture):
        log, lines = capture(KeyValueFormatter())
        log.info("x", extra={"password": "hunter2", "mailing_id": 1})
        assert "hunter2" not in lines()[0]
        assert lines()[0].endswith(" x mailing_id=1")

    def test_a_grep_finds_every_line_of_a_mailing(self, capture):
        log, lines = capture(KeyValueFormatter())
        log.info("claimed", extra={"mailing_id": 42, "count": 10})
        log.info("claimed", extra={"mailing_id": 420, "count": 10})
        log.info("sent", extra={"mailing_id": 42, "message_id": 7})
        assert [line for line in lines() if "mailing_id=42 " in line + " "] == [lines()[0], lines()[2]]


class TestJsonFormatter:
    def test_it_writes_one_json_object_per_line(self, capture):
        log, lines = capture(JsonFormatter())
        log.info("provider answered", extra={"mailing_id": 42, "message_id": 7, "error": "HTTP 500: try later"})
        log.warning("multi\nline message", extra={"batch": 3})
        first, second = lines()
        entry = json.loads(first)
        assert entry["message"] == "provider answered"
        assert entry["level"] == "INFO"
        assert entry["logger"] == log.name
        assert (entry["mailing_id"], entry["message_id"], entry["error"]) == (42, 7, "HTTP 500: try later")
        assert entry["time"].endswith("+00:00")
        assert json.loads(second)["message"] == "multi\nline message"
        assert json.loads(second)["batch"] == 3

    def test_it_omits_none_fields(self, capture):
        log, lines = capture(JsonFormatter())
        log.info("x", extra={"mailing_id": 1, "client_id": None, "count": 0})
        entry = json.loads(lines()[0])
        assert "client_id" not in entry
        assert entry["count"] == 0
        assert set(entry) == {"time", "level", "logger", "message", "mailing_id", "count"}

    def test_it_formats_arguments_into_the_message(self, capture):
        log, lines = capture(JsonFormatter())
        log.error("sent %d of %d", 3, 5)
        entry = json.loads(lines()[0])
        assert (entry["message"], entry["level"]) == ("sent 3 of 5", "ERROR")

    def test_it_keeps_an_exception_on_the_same_line(self, capture):
        log, lines = capture(JsonFormatter())
        try:
            raise ValueError("bad value")
        except ValueError:
            log.exception("it broke", extra={"message_id": 9})
        (line,) = lines()
        entry = json.loads(line)
        assert "ValueError: bad value" in entry["exception"]
        assert entry["message_id"] == 9

    def test_it_serialises_values_json_cannot(self, capture):
        log, lines = capture(JsonFormatter())
        log.info("x", extra={"status": {"sent", "failed"} - {"failed"}, "error": ValueError("nope")})
        entry = json.loads(lines()[0])
        assert entry["status"] == "{'sent'}"
        assert entry["error"] == "nope"
