"""Fixtures of the engine's tests: what dispatch queues, and on-commit callbacks run."""

import pytest

from mailings.sending import dispatch


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple[int, list[int], int]]:
    """What dispatch hands to the broker, captured where it is dispatched (the send_batch task's .delay)."""
    calls: list[tuple[int, list[int], int]] = []
    monkeypatch.setattr(
        dispatch.send_batch_task,
        "delay",
        lambda *, mailing_id, message_ids, token: calls.append((mailing_id, message_ids, token)),
    )
    return calls


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a function and then its on-commit callbacks (the test's transaction never commits)."""

    def run(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return run
