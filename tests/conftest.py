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
