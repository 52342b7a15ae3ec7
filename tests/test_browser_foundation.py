"""Flows a person clicks through, in a real browser."""

import pytest

from certification.tenancy import scopes_disabled
from licences.models import LicenceHolder
from tests.browser import PHONE, browser, log_in
from tests.world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_officer_registers_a_holder_after_fixing_a_bad_number(world, live_server):
    with browser() as chromium:
        page = chromium.new_page()
        log_in(page, live_server.url, world.a.officer.email, PASSWORD)
        page.wait_for_url(f"{live_server.url}/staff/")
        page.click("text=Licence-holders")
        page.click("text=Register a holder")
        page.fill("#id_name", "Betonwerk Kempen NV")
        page.fill("#id_company_number", "0418.316.358")
        page.click("main button[type=submit]")
        assert "not a valid Belgian enterprise number" in page.content()
        assert page.input_value("#id_name") == "Betonwerk Kempen NV"  # nothing typed is lost
        page.fill("#id_company_number", "0418.316.359")
        page.click("main button[type=submit]")
        page.wait_for_selector("h1:has-text('Betonwerk Kempen NV')")
        assert "BE0418316359" in page.content()
        assert "holder.register" in page.content()  # the history on the page comes from the audit trail
    with scopes_disabled("test"):
        assert LicenceHolder.objects.get(name="Betonwerk Kempen NV").body == world.a.body


def test_inspector_area_fits_a_phone(world, live_server):
    with browser() as chromium:
        page = chromium.new_context(**PHONE).new_page()
        log_in(page, live_server.url, world.a.inspector.email, PASSWORD)
        page.wait_for_url(f"{live_server.url}/inspector/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # Our own stylesheet is served and applied (no CDN).
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(245, 247, 250)"
        page.screenshot(path=str(live_server_artifact("inspector-phone.png")))


def live_server_artifact(name):
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return folder / name
