"""Log-in, throttling that a forged X-Forwarded-For cannot bypass, session limits, password reset."""

import re
import time

import pytest
from django.core import mail
from django.test import Client, override_settings

from tests.world import PASSWORD

pytestmark = pytest.mark.django_db


def login_post(client, email, password, **headers):
    return client.post("/accounts/login/", {"username": email, "password": password}, **headers)


def test_login_sends_each_user_to_their_face(world):
    cases = [(world.a.admin, "/staff/"), (world.a.inspector, "/inspector/"), (world.a.holder_user, "/portal/"),
             (world.a.lab_user, "/lab/")]
    for user, face in cases:
        client = Client()
        response = login_post(client, user.email, PASSWORD)
        assert response.status_code == 302 and response["Location"] == "/"
        assert client.get("/")["Location"] == face
        assert client.get(face).status_code == 200


def test_wrong_password_is_a_form_error(world):
    response = login_post(Client(), world.a.admin.email, "wrong")
    assert response.status_code == 200
    assert "Please enter a correct" in response.content.decode()


def test_forged_forwarded_for_does_not_reset_the_throttle(world):
    client = Client()
    statuses = [login_post(client, world.a.admin.email, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
                for n in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # the fifth failure locks (LOGIN_FAILURE_LIMIT=5)
    # The sixth try, even with the right password and yet another forged address, is locked out.
    response = login_post(client, world.a.admin.email, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_throttle_per_account_across_addresses(world):
    for attempt in range(5):
        login_post(Client(REMOTE_ADDR=f"192.0.2.{attempt}"), world.a.officer.email, "wrong")
    response = login_post(Client(REMOTE_ADDR="192.0.2.99"), world.a.officer.email, PASSWORD)
    assert response.status_code == 429


def test_other_accounts_still_log_in_from_another_address(world):
    for _ in range(5):
        login_post(Client(REMOTE_ADDR="192.0.2.50"), world.a.officer.email, "wrong")
    response = login_post(Client(REMOTE_ADDR="192.0.2.51"), world.a.auditor.email, PASSWORD)
    assert response.status_code == 302


def age_session(client, idle=0, absolute=0):
    session = client.session
    now = int(time.time())
    session["last_seen"] = now - idle
    session["auth_started"] = now - absolute
    session.save()


def test_staff_session_expires_after_30_idle_minutes(world):
    client = Client()
    login_post(client, world.a.admin.email, PASSWORD)
    age_session(client, idle=29 * 60, absolute=29 * 60)
    assert client.get("/staff/").status_code == 200
    age_session(client, idle=31 * 60, absolute=31 * 60)
    response = client.get("/staff/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session


def test_staff_session_ends_after_12_hours_even_when_active(world):
    client = Client()
    login_post(client, world.a.admin.email, PASSWORD)
    age_session(client, idle=60, absolute=12 * 3600 + 60)
    response = client.get("/staff/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_portal_users_have_a_longer_idle_limit(world):
    client = Client()
    login_post(client, world.a.holder_user.email, PASSWORD)
    age_session(client, idle=45 * 60, absolute=45 * 60)
    assert client.get("/portal/").status_code == 200
    age_session(client, idle=3 * 3600, absolute=3 * 3600)
    assert client.get("/portal/").status_code == 302


def test_activity_keeps_the_session_alive(world):
    client = Client()
    login_post(client, world.a.admin.email, PASSWORD)
    age_session(client, idle=20 * 60, absolute=20 * 60)
    client.get("/staff/")
    assert int(time.time()) - client.session["last_seen"] < 5


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_password_reset_by_email(world):
    client = Client()
    response = client.post("/accounts/password-reset/", {"email": world.a.officer.email})
    assert response.status_code == 302
    (message,) = mail.outbox
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+/)", message.body).group(1)
    response = client.get(link, follow=True)
    assert response.status_code == 200
    form_url = response.redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": "a-new-long-passphrase", "new_password2": "a-new-long-passphrase"})
    assert response.status_code == 302
    assert login_post(Client(), world.a.officer.email, "a-new-long-passphrase").status_code == 302
    assert login_post(Client(), world.a.officer.email, PASSWORD).status_code == 200


def test_password_reset_does_not_reveal_unknown_addresses(world):
    response = Client().post("/accounts/password-reset/", {"email": "nobody@nowhere.test"})
    assert response.status_code == 302


def test_logout_needs_post_and_ends_the_session(world):
    client = Client()
    login_post(client, world.a.admin.email, PASSWORD)
    assert client.get("/accounts/logout/").status_code == 405
    client.post("/accounts/logout/")
    assert client.get("/staff/").status_code == 302


def test_roles_limit_staff_pages(world, login):
    assert login(world.a.auditor).get("/staff/holders/new/").status_code == 403
    assert login(world.a.auditor).get("/staff/holders/").status_code == 200
    assert login(world.a.officer).get("/staff/members/").status_code == 403
    assert login(world.a.inspector).get("/staff/holders/").status_code == 403
    assert login(world.a.holder_user).get("/staff/").status_code == 403
