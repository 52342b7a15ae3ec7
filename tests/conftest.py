import copy

import pytest
from django.db import connection

from tests.world import build_world

# The world is built once and committed at the start of the session; every test that asks for it gets a
# fresh copy of the Python objects, and its own writes are rolled back with its transaction. A transactional
# test (live server, real worker) flushes every table when it ends, so the committed world is gone after it
# and the next one that needs it builds it again.
_committed = {"world": None}


def _is_transactional(request):
    marker = request.node.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        return True
    return "transactional_db" in request.fixturenames or "live_server" in request.fixturenames


@pytest.fixture(scope="session", autouse=True)
def _end_stray_connections(django_db_setup, django_db_blocker):
    """Celery's in-process test worker runs Django's checks in its own thread when it starts, and that thread's
    connection outlives it; end such connections so the test database can be dropped at the end."""
    yield
    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")


@pytest.fixture(scope="session")
def _world_at_session_start(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        _committed["world"] = build_world()


@pytest.fixture(autouse=True)
def _forget_world_after_flush(request):
    yield
    if _is_transactional(request):
        _committed["world"] = None


@pytest.fixture
def world(request, db, _world_at_session_start):
    # `db` is asked for by name so pytest-django sets up the test database and orders the tests; a test that
    # also asks for a live server or a transactional database gets no transaction around it.
    if _committed["world"] is None:
        if _is_transactional(request):
            _committed["world"] = build_world()
        else:
            # Only reachable when a flushing test ran before this one: build inside this test's transaction.
            return build_world()
    return copy.deepcopy(_committed["world"])


@pytest.fixture
def login(client):
    def _login(user):
        client.logout()
        if user is not None:
            client.force_login(user)
        return client

    return _login


@pytest.fixture(autouse=True)
def _plain_static_for_live_server(request, settings):
    # The live server serves /static/ through the staticfiles finders, which know no hashed names.
    if "live_server" in request.fixturenames:
        settings.STORAGES = {**settings.STORAGES,
                             "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
