"""Every test starts from the migrations' data, whatever ran before it, in this run or in the last
`--reuse-db` one (tests/support/migrations_data.py): tests/support/migrations_data_cases.py run in
pytests of their own, on a test database of their own."""

import os
import subprocess
import sys

import pytest

from backoffice.processes import ROOT

CASES = "tests/support/migrations_data_cases.py"


@pytest.fixture
def run_cases(tmp_path, django_db_blocker):
    """`run_cases(*options_and_tests)`: a pytest of the cases. On PostgreSQL its database is its own
    (and kept between runs, as `--reuse-db` keeps it); on SQLite it is in memory."""
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    url = os.environ.get("DATABASE_URL", "")
    own_database = f"{url.rsplit('/', 1)[1]}_cases" if url.startswith("postgres") else None
    if own_database:
        env["DATABASE_URL"] = f"{url.rsplit('/', 1)[0]}/{own_database}"

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--basetemp={tmp_path / 'run'}", *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    run.persistent = own_database is not None
    yield run
    if own_database:
        from django.db import connection

        with django_db_blocker.unblock(), connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "test_{own_database}" WITH (FORCE)')


def test_a_transactional_test_leaves_the_migrations_data_for_the_tests_after_it(run_cases):
    first = run_cases(
        "--create-db",
        f"{CASES}::test_record_the_migrations_data",
        f"{CASES}::test_a_transactional_test_changes_all_of_it",
        f"{CASES}::test_a_transactional_test_after_it_finds_it",
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert "3 passed" in first.stdout

    if run_cases.persistent:  # the next run finds the database as the last one left it
        second = run_cases("--reuse-db", f"{CASES}::test_a_test_in_the_next_run_finds_it")
        assert second.returncode == 0, second.stdout + second.stderr
        assert "1 passed" in second.stdout
