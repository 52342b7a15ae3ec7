"""The application workflow through the staff and portal pages, with form errors on bad input."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from certification.tenancy import scopes_disabled, tenant_scope
from inspections.models import Visit
from licences import tasks
from licences.models import Application, HolderMembership, Licence

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_portal_and_staff_walk_an_application_to_a_certificate(login, world):
    a = world.a
    portal = login(a.holder_user)
    response = portal.post(reverse("portal:product-create"), {
        "site": a.site.pk, "category": a.category.pk, "commercial_name": "Portal mix",
        "declared_characteristics": "Void content: 4 %\nbroken line"})
    assert response.status_code == 200 and "is not of the form" in response.content.decode()
    response = portal.post(reverse("portal:product-create"), {
        "site": a.site.pk, "category": a.category.pk, "commercial_name": "Portal mix",
        "declared_characteristics": "Void content: 4 %"})
    assert response.status_code == 302
    with tenant_scope(a.body):
        product = a.holder.products.get(commercial_name="Portal mix")
    response = portal.post(reverse("portal:application-create"), {
        "site": a.site.pk, "regulation_version": a.lic_version.pk, "products": [product.pk]})
    assert response.status_code == 302
    with tenant_scope(a.body):
        application = Application.objects.filter(holder=a.holder).order_by("-pk").first()
    action = reverse("portal:application-action", kwargs={"pk": application.pk})
    assert portal.post(action, {"action": "submit"}).status_code == 302

    staff = login(a.officer)
    staff_action = reverse("staff:application-action", kwargs={"pk": application.pk})
    assert staff.post(staff_action, {"action": "send_pack"}).status_code == 302
    response = staff.post(staff_action, {"action": "review"})
    assert response.status_code == 400 and "has not returned the signed form" in response.content.decode()

    portal = login(a.holder_user)
    assert portal.get(reverse("portal:application-pack", kwargs={"pk": application.pk})).status_code == 200
    response = portal.post(action, {"action": "confirm", "signed_copy": SimpleUploadedFile("form.pdf", b"GIF89a")})
    assert response.status_code == 400 and "not a PDF" in response.content.decode()
    response = portal.post(action, {"action": "confirm",
                                    "signed_copy": SimpleUploadedFile("form.pdf", b"%PDF-1.7\nsigned")})
    assert response.status_code == 302

    staff = login(a.officer)
    assert staff.get(reverse("staff:application-signed-copy", kwargs={"pk": application.pk})).status_code == 200
    assert staff.post(staff_action, {"action": "review"}).status_code == 302
    assert staff.post(staff_action, {"action": "admit", "reason": "File complete"}).status_code == 302
    application.refresh_from_db()
    licence = application.licence
    with tenant_scope(a.body):
        Visit.objects.create(body=a.body, licence=licence, site=a.site, planned_for=dt.date.today(),
                             inspector=a.officer, kind=Visit.Kind.INITIAL)
    decide = reverse("staff:licence-decide", kwargs={"pk": licence.pk})
    response = staff.post(decide, {"kind": "grant", "reason": "Type tests passed", "language": "nl"})
    assert response.status_code == 400 and "did not inspect" in response.content.decode()

    admin = login(a.admin)
    assert admin.post(decide, {"kind": "grant", "reason": "Type tests passed", "language": "nl"}).status_code == 302
    licence.refresh_from_db()
    assert licence.state == Licence.State.ACTIVE
    with tenant_scope(a.body):
        certificate = licence.certificates.get()
    pdf_url = reverse("staff:certificate-pdf", kwargs={"pk": certificate.pk})
    assert "being generated" in admin.get(pdf_url).content.decode()
    tasks.render_certificate(a.body.pk, certificate.pk)
    response = admin.get(pdf_url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    detail = admin.get(reverse("staff:licence-detail", kwargs={"pk": licence.pk})).content.decode()
    assert certificate.full_number in detail and "Type tests passed" in detail

    portal = login(a.holder_user)
    response = portal.get(reverse("portal:certificate-pdf", kwargs={"pk": certificate.pk}))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    results = portal.get(reverse("portal:licence-results", kwargs={"pk": licence.pk}))
    assert results.status_code == 200 and results.content.startswith(b"%PDF")


def test_sanction_and_appeal_pages(login, world):
    a = world.a
    staff = login(a.admin)
    url = reverse("staff:licence-sanction", kwargs={"pk": a.licence.pk})
    response = staff.post(url, {"kind": "suspension", "starts_on": "2026-13-01", "reason": "x"})
    assert response.status_code == 400
    assert staff.post(url, {"kind": "reinforced_inspection", "starts_on": str(dt.date.today()),
                            "reason": "NCs"}).status_code == 302
    a.licence.refresh_from_db()
    assert a.licence.inspection_regime == Licence.Regime.REINFORCED
    appeal_url = reverse("staff:appeal-update", kwargs={"pk": a.appeal.pk})
    response = staff.post(appeal_url, {"action": "committee", "members": [a.officer.pk]})
    assert response.status_code == 400 and "may not include" in response.content.decode()
    assert staff.post(appeal_url, {"action": "committee", "members": [a.auditor.pk]}).status_code == 302


def test_manager_invites_and_contributor_cannot(login, world, mailoutbox, django_capture_on_commit_callbacks):
    a = world.a
    portal = login(a.holder_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = portal.post(reverse("portal:user-invite"), {"email": "new@holder1.test", "role": "contributor"})
    assert response.status_code == 302
    with tenant_scope(a.body):
        membership = HolderMembership.objects.get(user__email="new@holder1.test")
    assert membership.holder == a.holder and len(mailoutbox) == 1 and "/accounts/reset/" in mailoutbox[0].body
    contributor = login(membership.user)
    response = contributor.post(reverse("portal:user-invite"), {"email": "x@holder1.test", "role": "manager"})
    assert response.status_code == 200 and "Only a manager" in response.content.decode()
    with tenant_scope(a.body):
        assert not HolderMembership.objects.filter(user__email="x@holder1.test").exists()


def test_product_edit_keeps_characteristics_and_refuses_foreign_site(login, world):
    a = world.a
    portal = login(a.holder_user)
    url = reverse("portal:product-edit", kwargs={"pk": a.product.pk})
    assert "void content: 3-6 %" in portal.get(url).content.decode()
    response = portal.post(url, {"site": a.site.pk, "category": a.category.pk, "commercial_name": "Renamed mix",
                                 "declared_characteristics": "void content: 3-5 %", "row_version": a.product.row_version})
    assert response.status_code == 302
    a.product.refresh_from_db()
    assert a.product.commercial_name == "Renamed mix" and a.product.declared_characteristics == {"void content": "3-5 %"}
    with tenant_scope(a.body):
        foreign_site = a.holder2.sites.create(body=a.body, name="Other company's plant")
    response = portal.post(url, {"site": foreign_site.pk, "category": a.category.pk, "commercial_name": "x",
                                 "row_version": a.product.row_version})
    assert response.status_code == 200  # not a choice: the form only offers the holder's sites
    assert login(a.holder2_user).get(url).status_code == 404


def test_stale_application_action_is_refused_not_lost(login, world):
    a = world.a
    with tenant_scope(a.body):
        from licences import services

        application = services.do_create_application(holder=a.holder, site=a.site, mark=a.mark,
                                                      regulation_version=a.lic_version, products=[a.product2])
    seen = application.row_version
    portal = login(a.holder_user)
    action = reverse("portal:application-action", kwargs={"pk": application.pk})
    assert f'name="row_version" value="{seen}"' in portal.get(
        reverse("portal:application-detail", kwargs={"pk": application.pk})).content.decode()
    assert portal.post(action, {"action": "submit", "row_version": seen}).status_code == 302
    # a colleague's page still shows the old version: withdrawing from it is refused, not applied blindly
    response = portal.post(action, {"action": "withdraw", "reason": "old page", "row_version": seen})
    assert response.status_code == 400 and "changed by someone else" in response.content.decode()
    application.refresh_from_db()
    assert application.state == Application.State.SUBMITTED


def test_concurrent_product_edits_conflict_with_both_values_shown(login, world, client):
    from django.test import Client

    from certification.models import AuditEvent
    from licences import services

    a = world.a
    with tenant_scope(a.body):
        product = services.do_add_product(holder=a.holder, site=a.site, category=a.category,
                                          commercial_name="Concurrent mix", declared_characteristics={"PSV": "50"})
    staff, portal = Client(), Client()
    staff.force_login(a.officer)
    portal.force_login(a.holder_user)
    staff_url = reverse("staff:product-edit", kwargs={"pk": product.pk})
    portal_url = reverse("portal:product-edit", kwargs={"pk": product.pk})
    seen = f'name="row_version" value="{product.row_version}"'
    assert seen in staff.get(staff_url).content.decode() and seen in portal.get(portal_url).content.decode()
    fields = {"site": a.site.pk, "category": a.category.pk}
    # the holder saves first…
    response = portal.post(portal_url, {**fields, "commercial_name": "Concurrent mix (holder)",
                                        "declared_characteristics": "PSV: 53", "row_version": 1})
    assert response.status_code == 302
    # …then the officer saves the page opened before: refused, both values shown, nothing overwritten
    response = staff.post(staff_url, {**fields, "commercial_name": "Concurrent mix (officer)",
                                      "declared_characteristics": "PSV: 50\nAAV: 10", "row_version": 1})
    assert response.status_code == 409
    page = response.content.decode()
    conflict = page.split('id="conflict"')[1].split("</table>")[0]
    assert "Concurrent mix (officer)" in conflict and "Concurrent mix (holder)" in conflict
    assert "PSV: 53" in conflict and "AAV: 10" in conflict
    assert 'name="row_version" value="2"' in page and 'value="Concurrent mix (officer)"' in page
    product.refresh_from_db()
    assert (product.commercial_name, product.declared_characteristics, product.row_version) == (
        "Concurrent mix (holder)", {"PSV": "53"}, 2)
    # saving again from the conflict page is a deliberate overwrite of the version now shown
    response = staff.post(staff_url, {**fields, "commercial_name": "Concurrent mix (officer)",
                                      "declared_characteristics": "PSV: 50\nAAV: 10", "row_version": 2})
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.commercial_name, product.declared_characteristics, product.row_version) == (
        "Concurrent mix (officer)", {"PSV": "50", "AAV": "10"}, 3)
    # a post without the version it edited is refused, not applied blindly
    response = portal.post(portal_url, {**fields, "commercial_name": "Blind write"})
    assert response.status_code == 200 and "row_version" in response.content.decode()
    product.refresh_from_db()
    assert product.commercial_name == "Concurrent mix (officer)"
    with scopes_disabled("test"):
        updates = AuditEvent.objects.filter(action="product.update", object_id=str(product.pk))
        assert [e.after["commercial_name"] for e in updates.order_by("pk")] == [
            "Concurrent mix (holder)", "Concurrent mix (officer)"]
    with tenant_scope(a.body), pytest.raises(services.ProductEditConflict) as stale:
        services.do_update_product(product=product, changes={"commercial_name": "x"}, expected_version=2)
    assert stale.value.current.row_version == 3
