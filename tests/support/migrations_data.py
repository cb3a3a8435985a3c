"""Every test starts from the database as the migrations made it, whatever ran before it.

The migrations' data (content types, permissions, the Operators and Viewers groups, the periodic
tasks) is serialized by pytest-django when it sets up the test databases. A transactional test ends
with a flush of every table; here every transactional test (`transaction=True`, `transactional_db`,
`live_server`) gets serialized rollback, so that the flush sends no post_migrate (which would make
content types and permissions anew, with other ids), and the migrations' data is put back right after
the flush. The next test, in any order, and the next `--reuse-db` run find it as migrated.

tests/conftest.py takes these hooks and the fixture for the whole suite.
"""

import pytest


def _django_db_args(transaction=False, reset_sequences=False, databases=None, serialized_rollback=False,
                    available_apps=None) -> dict:  # fmt: skip
    """The arguments of pytest-django's `django_db` marker, with its defaults."""
    return {
        "transaction": transaction,
        "reset_sequences": reset_sequences,
        "databases": databases,
        "serialized_rollback": serialized_rollback,
        "available_apps": available_apps,
    }


_MIGRATIONS_DATA = pytest.StashKey[dict[str, str]]()  # serialized, per database alias
_TRANSACTIONAL = pytest.StashKey[bool]()


def pytest_collection_modifyitems(items):
    """Every transactional test gets serialized rollback (so the database is serialized after
    migrating, and the flush after the test sends no post_migrate)."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        args = _django_db_args(*marker.args, **marker.kwargs) if marker else _django_db_args()
        if (
            args["transaction"]
            or args["reset_sequences"]
            or {"transactional_db", "live_server"} & set(item.fixturenames)
        ):
            item.add_marker(
                pytest.mark.django_db(**{**args, "transaction": True, "serialized_rollback": True}), append=False
            )
            item.stash[_TRANSACTIONAL] = True


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, request):
    """pytest-django's, keeping the migrations' data it serialized, per database alias."""
    from django.db import connections

    request.config.stash[_MIGRATIONS_DATA] = {
        connection.alias: connection._test_serialized_contents
        for connection in connections.all()
        if hasattr(connection, "_test_serialized_contents")
    }


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef, request):
    """Lends the migrations' data to the connections a transactional test uses: Django looks for it
    on the connection object, and under Playwright's running event loop (the browser tests) Django
    hands out other connection objects than the ones it serialized on."""
    if fixturedef.argname == "_django_db_helper" and request.node.stash.get(_TRANSACTIONAL, False):
        from django.db import connections

        for alias, data in request.config.stash.get(_MIGRATIONS_DATA, {}).items():
            connections[alias]._test_serialized_contents = data


def pytest_fixture_post_finalizer(fixturedef, request):
    """Right after a transactional test's flush (the teardown of pytest-django's database fixture),
    puts the migrations' data back."""
    if fixturedef.argname != "_django_db_helper" or not request.node.stash.get(_TRANSACTIONAL, False):
        return
    if fixturedef.cached_result is None or fixturedef.cached_result[2] is not None:
        return  # its set-up failed before any flush
    from django.db import connections

    with request.getfixturevalue("django_db_blocker").unblock():
        for alias, data in request.config.stash.get(_MIGRATIONS_DATA, {}).items():
            connections[alias].creation.deserialize_db_from_string(data)
            connections[alias].close()
