"""An officer grants a licence in the back-office and downloads the certificate (Debian chromium)."""

import io
import os

import pytest
from django.utils import timezone
from pypdf import PdfReader

from certification.tenancy import tenant_scope
from licences import services, tasks
from licences.models import Application, Licence
from tests.world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]


def test_officer_grants_and_downloads_the_certificate(live_server, world, settings, tmp_path):
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    settings.MEDIA_ROOT = tmp_path
    from playwright.sync_api import sync_playwright

    a = world.a
    with tenant_scope(a.body):
        application = services.do_create_application(holder=a.holder, site=a.site, mark=a.mark,
                                                     regulation_version=a.lic_version, products=[a.product2])
        services.do_submit_application(application=application)
        Application.objects.filter(pk=application.pk).update(state=Application.State.PACK_SENT,
                                                             confirmation=Application.Confirmation.ELECTRONIC)
        services.do_start_review(application=application)
        licence = services.do_admit(application=application, by=a.officer,
                                    effective_from=timezone.now()).licence

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(accept_downloads=True)
        page.goto(f"{live_server.url}/accounts/login/?next=/staff/licences/{licence.pk}/")
        page.fill("#id_username", a.officer.email)
        page.fill("#id_password", PASSWORD)
        page.click("form button[type=submit], form input[type=submit]")
        page.wait_for_url(f"**/staff/licences/{licence.pk}/")
        assert "Admission" in page.inner_text("#licence-state")
        page.select_option("#decision-form select[name=kind]", "grant")
        page.fill("#decision-form textarea[name=reason]", "Initial inspection conclusive")
        page.click("#decision-form button[type=submit]")
        page.wait_for_selector("text=Decision recorded")
        assert "Active" in page.inner_text("#licence-state")

        with tenant_scope(a.body):
            certificate = services.current_certificate(Licence.objects.get(pk=licence.pk))
        tasks.render_certificate(a.body.pk, certificate.pk)  # what the worker does
        page.reload()
        with page.expect_download() as info:
            page.click("a.certificate-download")
        data = open(info.value.path(), "rb").read()
        browser.close()
    text = "".join(pg.extract_text() for pg in PdfReader(io.BytesIO(data)).pages)
    assert certificate.full_number in text and a.product2.commercial_name in text and a.holder.name in text


def test_two_people_edit_the_same_product_and_the_second_sees_the_conflict(live_server, world, tmp_path):
    from tests.browser import browser, log_in

    a = world.a
    with tenant_scope(a.body):
        product = services.do_add_product(holder=a.holder, site=a.site, category=a.category,
                                          commercial_name="Browser mix", declared_characteristics={"PSV": "50"})
    with browser() as chromium:
        officer = chromium.new_context().new_page()
        holder = chromium.new_context().new_page()
        log_in(officer, live_server.url, a.officer.email, PASSWORD)
        log_in(holder, live_server.url, a.holder_user.email, PASSWORD)
        officer.goto(f"{live_server.url}/staff/products/{product.pk}/edit/")
        holder.goto(f"{live_server.url}/portal/products/{product.pk}/edit/")
        holder.fill("#id_commercial_name", "Browser mix (holder)")
        holder.click("main button[type=submit]")
        holder.wait_for_url(f"{live_server.url}/portal/")
        officer.fill("#id_commercial_name", "Browser mix (officer)")
        officer.click("main button[type=submit]")
        conflict = officer.locator("#conflict")
        conflict.wait_for()
        officer.screenshot(path=str(tmp_path / "product-conflict.png"), full_page=True)
        assert "Browser mix (holder)" in conflict.inner_text() and "Browser mix (officer)" in conflict.inner_text()
        assert officer.input_value("#id_commercial_name") == "Browser mix (officer)"
        product.refresh_from_db()
        assert product.commercial_name == "Browser mix (holder)"
        officer.click("main form button[type=submit]")
        officer.wait_for_url(f"{live_server.url}/staff/holders/{a.holder.pk}/")
    product.refresh_from_db()
    assert (product.commercial_name, product.row_version) == ("Browser mix (officer)", 3)
