import pytest

from tests.world import build_world


@pytest.fixture
def world(db):
    return build_world()


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
