"""LicenceHolder.row_version: the API's ETag/If-Match uses it, every service update bumps it, and the staff edit
form refuses a stale edit (conflict shown with both values, the user's input kept, nothing written)."""

import re

import pytest

from certification.models import AuditEvent
from certification.tenancy import scopes_disabled, tenant_scope
from licences import services
from licences.models import LicenceHolder
from tests.api_support import key_client, make_api_world

pytestmark = pytest.mark.django_db


def current(ns):
    with tenant_scope(ns.body):
        return LicenceHolder.objects.get(pk=ns.holder.pk)


def updates(holder):
    with scopes_disabled("test"):
        return AuditEvent.objects.filter(action="holder.update", object_id=str(holder.pk)).count()


def test_api_etag_is_the_row_version_and_every_update_bumps_it(world):
    a = make_api_world(world).a
    client = key_client(a.key.token)
    url = f"/api/v1/holders/{a.holder.pk}/"
    read = client.get(url)
    version = current(a).row_version
    assert read["ETag"] == f'"licences.licenceholder.{a.holder.pk}.v{version}"'
    assert read.json()["row_version"] == version
    changed = client.patch(url, {"phone": "+32 2 111 11 11"}, format="json", HTTP_IF_MATCH=read["ETag"])
    assert changed.status_code == 200, changed.content
    assert changed["ETag"] == f'"licences.licenceholder.{a.holder.pk}.v{version + 1}"'
    assert changed.json()["row_version"] == current(a).row_version == version + 1
    assert client.patch(url, {"phone": "+32 9"}, format="json", HTTP_IF_MATCH=read["ETag"]).status_code == 412
    # A change made by another path (the staff form, through the service) also makes the API's ETag stale.
    with tenant_scope(a.body):
        services.do_update_holder(holder=a.holder, changes={"address": "Rue Neuve 2"})
    assert client.patch(url, {"phone": "+32 8"}, format="json", HTTP_IF_MATCH=changed["ETag"]).status_code == 412
    assert current(a).phone == "+32 2 111 11 11"


def test_service_refuses_a_stale_version_and_writes_nothing(world):
    a = world.a
    version = current(a).row_version
    before = updates(a.holder)
    with tenant_scope(a.body):
        services.do_update_holder(holder=a.holder, changes={"phone": "+32 1"}, expected_version=version)
        with pytest.raises(services.StaleEdit):
            services.do_update_holder(holder=a.holder, changes={"phone": "+32 2"}, expected_version=version)
    fresh = current(a)
    assert (fresh.phone, fresh.row_version) == ("+32 1", version + 1)
    assert updates(a.holder) == before + 1


def _form_data(page, **changes):
    html = page.content.decode()
    data = {name: value for name, value in re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', html)}
    for name in ("address", "internal_notes"):
        match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>\s*(.*?)</textarea>', html, re.S)
        data[name] = match.group(1) if match else ""
    data.pop("csrfmiddlewaretoken", None)
    data.update(changes)
    return data


def test_staff_form_shows_a_concurrent_edit_and_loses_nothing(world, client):
    a = world.a
    url = f"/staff/holders/{a.holder.pk}/edit/"
    client.force_login(a.officer)
    page = client.get(url)
    assert page.status_code == 200
    mine = _form_data(page, name="Alpha Holder (renamed by me)")
    assert mine["row_version"] == str(current(a).row_version)
    # Someone else saves the holder meanwhile.
    with tenant_scope(a.body):
        services.do_update_holder(holder=a.holder, changes={"phone": "+32 4 999 99 99"})
    before = updates(a.holder)
    response = client.post(url, mine)
    assert response.status_code == 200  # not saved: the form comes back
    html = response.content.decode()
    assert 'id="conflict"' in html and "changed by someone else" in html
    assert "Alpha Holder (renamed by me)" in html  # my input is kept
    assert "+32 4 999 99 99" in html  # their value is shown
    fresh = current(a)
    assert fresh.name != "Alpha Holder (renamed by me)" and fresh.phone == "+32 4 999 99 99"
    assert updates(a.holder) == before
    # The returned form carries the current version: saving again is a deliberate overwrite.
    again = _form_data(response)
    assert again["row_version"] == str(fresh.row_version) and again["name"] == "Alpha Holder (renamed by me)"
    saved = client.post(url, again)
    assert saved.status_code == 302
    fresh = current(a)
    assert fresh.name == "Alpha Holder (renamed by me)" and fresh.row_version == int(again["row_version"]) + 1


def test_staff_form_saves_without_conflict_and_bumps_the_version(world, client):
    a = world.a
    url = f"/staff/holders/{a.holder.pk}/edit/"
    client.force_login(a.officer)
    version = current(a).row_version
    response = client.post(url, _form_data(client.get(url), email="new@holder1.test"))
    assert response.status_code == 302
    fresh = current(a)
    assert (fresh.email, fresh.row_version) == ("new@holder1.test", version + 1)


def test_register_form_has_no_version_field(world, client):
    client.force_login(world.a.officer)
    page = client.get("/staff/holders/new/")
    assert page.status_code == 200 and 'name="row_version"' not in page.content.decode()
    response = client.post("/staff/holders/new/", {"name": "Delta", "company_number": "BE0418316359"})
    assert response.status_code == 302
    with tenant_scope(world.a.body):
        assert LicenceHolder.objects.get(company_number="BE0418316359").row_version == 1


def test_staff_edit_without_the_version_read_is_refused(world, client):
    a = world.a
    url = f"/staff/holders/{a.holder.pk}/edit/"
    client.force_login(a.officer)
    data = _form_data(client.get(url), name="No version")
    del data["row_version"]
    response = client.post(url, data)
    assert response.status_code == 200 and current(a).name != "No version"

