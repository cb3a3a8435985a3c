"""What the Celery processes of a test wrote that nobody would read: errors in their logs.

A tick or a batch that raises in a worker fails nothing in the test that sent it; its
traceback lands in the worker's log. Every integration test therefore ends with a look at
the logs of its workers and beat (the `cluster` fixture's teardown, up to where they stood
when the test ended): a record at ERROR or CRITICAL, or a traceback outside a warning (a
warning with its exception is a failure the product handled and said so), fails the test
unless the test names it with `@pytest.mark.expected_log_errors(pattern, ...)`: regular
expressions searched in the whole record, its traceback included (`.` matches line ends too).
"""

import re
from collections.abc import Iterator
from pathlib import Path

RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) ")


def _records(text: str) -> Iterator[tuple[str | None, list[str]]]:
    """Each log record with its continuation lines; what precedes the first has level None."""
    level, lines = None, []
    for line in text.splitlines():
        start = RECORD.match(line)
        if start:
            if lines:
                yield level, lines
            level, lines = start["level"], []
        lines.append(line)
    if lines:
        yield level, lines


def unexpected_errors(log_path: Path, expected: list[str], upto: int | None = None) -> list[str]:
    """The first line of each error record or stray traceback the test did not expect, in the
    log's first `upto` bytes."""
    found = []
    with log_path.open("rb") as log:
        text = log.read(upto).decode(errors="replace")
    for level, lines in _records(text):
        if level in ("ERROR", "CRITICAL"):
            bad = lines
        elif level != "WARNING" and any(line.startswith("Traceback") for line in lines):
            # Printed outside logging (an uncaught exception in a thread, a crash on start-up).
            bad = lines[next(i for i, line in enumerate(lines) if line.startswith("Traceback")) :]
        else:
            continue
        text = "\n".join(bad)
        if not any(re.search(pattern, text, re.DOTALL) for pattern in expected):
            found.append(bad[0])
    return found
