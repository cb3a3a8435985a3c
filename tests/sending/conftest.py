"""Fixtures of the engine's tests: on-commit callbacks run (`enqueued` is in tests/conftest.py)."""

import pytest


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a function and then its on-commit callbacks (the test's transaction never commits)."""

    def run(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return run
