"""Application → admission → grant → certificate; decisions, impartiality, numbering, rendering."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from pypdf import PdfReader

from certification import events
from certification.models import Role
from certification.services import do_add_member
from certification.tenancy import scopes_disabled, tenant_scope
from inspections.models import Visit
from licences import services, tasks
from licences.models import Application, Certificate, CertificateDeletionRefused, Decision, Licence
from tests.worlds.licences import granted_licence, published_version, reference_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def pdf_text(data):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_application_to_grant_and_certificate_pdf(world):
    a = world.a
    with tenant_scope(a.body):
        product = services.do_add_product(holder=a.holder, site=a.site, category=a.category,
                                          commercial_name="Grave-ciment GC-2", declared_characteristics={"Rc": "≥ 5 MPa"})
        application = services.do_create_application(holder=a.holder, site=a.site, mark=a.mark,
                                                     regulation_version=a.lic_version, products=[product],
                                                     by=a.holder_user)
        assert application.state == Application.State.DRAFT
        services.do_submit_application(application=application)
        application = services.do_send_information_pack(application=application)
        assert application.state == Application.State.PACK_SENT and len(application.pack_sha256) == 64
        pack = pdf_text(application.pack.read())
        for text in ("Principles of certification", "TRA-LIC-14 version 1", "Void content", "Copy to keep",
                     "Copy to sign and return", "Grave-ciment GC-2", a.holder.name):
            assert text in pack
        with pytest.raises(services.Refused):
            services.do_start_review(application=application)  # not confirmed yet
        with pytest.raises(services.Refused):
            services.do_confirm_application(application=application, by=a.holder_user,
                                            signed_copy=SimpleUploadedFile("signed.pdf", b"<html>not a pdf"))
        services.do_confirm_application(application=application, by=a.holder_user,
                                        signed_copy=SimpleUploadedFile("signed.pdf", b"%PDF-1.4\n% signed\n"))
        services.do_start_review(application=application)
        application = services.do_admit(application=application, by=a.officer)
        licence = application.licence
        assert (licence.state, licence.inspection_regime) == (Licence.State.ADMISSION, Licence.Regime.ADMISSION)
        assert list(licence.history.values_list("state", flat=True)) == ["admission"]
        assert services.current_certificate(licence) is None

        decision = services.do_take_decision(licence=licence, kind=Decision.Kind.GRANT, by=a.officer,
                                             reason="Admission period passed", language="fr")
        licence.refresh_from_db()
        application.refresh_from_db()
        assert licence.state == Licence.State.ACTIVE and licence.inspection_regime == Licence.Regime.NORMAL
        assert application.state == Application.State.GRANTED and decision.application == application
        certificate = services.current_certificate(licence)
        assert certificate.number == f"ALPHA-BENOR-{2:06d}"  # the world's licence has number 1
        assert certificate.render_status == Certificate.RenderStatus.PENDING

        tasks.render_certificate(a.body.pk, certificate.pk)
        certificate.refresh_from_db()
        assert certificate.render_status == Certificate.RenderStatus.RENDERED
        text = pdf_text(certificate.pdf.read())
    for expected in (a.holder.name, "Grave-ciment GC-2", "BENOR", "TRA-LIC-14", certificate.full_number,
                     "Certificat de produit", "/public/verify/" + certificate.full_number):
        assert expected in text.replace("\n", ""), expected
    with scopes_disabled("test"):
        assert {"application.pack_sent", "decision.grant", "certificate.issue"} <= set(
            a.body and __import__("certification.models").models.AuditEvent.objects.filter(body=a.body)
            .values_list("action", flat=True))


def test_render_task_is_idempotent(world, media):
    a = world.a
    tasks.render_certificate(a.body.pk, a.certificate.pk)
    with tenant_scope(a.body):
        first = Certificate.objects.get(pk=a.certificate.pk)
    tasks.render_certificate(a.body.pk, a.certificate.pk)
    with tenant_scope(a.body):
        second = Certificate.objects.get(pk=a.certificate.pk)
    files = list((media / "certificates").rglob("*.pdf"))  # other apps' worlds save their own files under media
    assert files == [media / second.pdf.name] and first.pdf.name == second.pdf.name
    assert first.sha256 == second.sha256 and second.render_attempts == 1


def test_stuck_renders_are_requeued(world, monkeypatch):
    a = world.a
    sent = []
    monkeypatch.setattr(tasks.render_certificate, "delay", lambda *args: sent.append(args))
    assert tasks.requeue_stuck_certificate_renders() == 0  # just requested: not stuck yet
    with tenant_scope(a.body):
        Certificate.objects.filter(pk=a.certificate.pk).update(render_requested_at=timezone.now() - dt.timedelta(hours=1))
    assert tasks.requeue_stuck_certificate_renders() >= 1
    assert (a.body.pk, a.certificate.pk) in sent


def test_reissue_supersedes_and_numbers_are_never_reused(world):
    a = world.a
    received = []
    handler = events.subscribe(received.append)
    try:
        with tenant_scope(a.body):
            v1 = a.certificate
            v2 = services.do_issue_certificate(licence=a.licence, by=a.officer)
            v1.refresh_from_db()
            assert (v2.number, v2.version, v2.full_number) == (v1.number, 2, f"{v1.number}-v2")
            assert v1.superseded_by == v2 and v1.superseded_at is not None
            assert services.current_certificate(a.licence) == v2
            assert ("superseded", v1.full_number) in [(e.payload["status"], e.subject) for e in received]
            with pytest.raises(CertificateDeletionRefused):
                v2.delete()
            # even if rows vanish behind the application's back, the counter never hands a number out twice
            other_app, _ = granted_licence(a, a.holder, a.site, [a.product2], a.lic_version, a.officer)
            third = services.current_certificate(other_app.licence)
            Certificate._base_manager.filter(pk=third.pk)._raw_delete(Certificate._base_manager.db)
            again_app, _ = granted_licence(a, a.holder, a.site, [a.product2], a.lic_version, a.officer)
            fourth = services.current_certificate(again_app.licence)
            assert len({v1.number, third.number, fourth.number}) == 3
    finally:
        events._subscribers.remove(handler)


def test_decider_who_inspected_is_refused(world):
    a = world.a
    with tenant_scope(a.body):
        Visit.objects.create(body=a.body, licence=a.licence, site=a.site, planned_for=dt.date.today(),
                             inspector=a.officer)
        with pytest.raises(services.ImpartialityViolation):
            services.do_take_decision(licence=a.licence, kind=Decision.Kind.SUSPEND, by=a.officer, reason="NC")
        a.licence.refresh_from_db()
        assert a.licence.state == Licence.State.ACTIVE
        # inspecting another licence of the same holder also disqualifies
        app, _ = granted_licence(a, a.holder, a.site, [a.product2], a.lic_version, a.admin)
        with pytest.raises(services.ImpartialityViolation):
            services.do_take_decision(licence=app.licence, kind=Decision.Kind.SUSPEND, by=a.officer, reason="NC")
        # an auditor has no decisions.take capability; an inspector neither
        with pytest.raises(services.Refused):
            services.do_take_decision(licence=a.licence, kind=Decision.Kind.SUSPEND, by=a.auditor, reason="NC")
        # a colleague who did not inspect may decide, and needs a reason
        with pytest.raises(services.Refused):
            services.do_take_decision(licence=a.licence, kind=Decision.Kind.SUSPEND, by=a.admin, reason=" ")
        services.do_take_decision(licence=a.licence, kind=Decision.Kind.SUSPEND, by=a.admin, reason="NC")
        a.licence.refresh_from_db()
        assert a.licence.state == Licence.State.SUSPENDED


def test_officer_of_another_body_cannot_decide(world):
    a, b = world.a, world.b
    with tenant_scope(a.body), pytest.raises(services.Refused):
        services.do_take_decision(licence=a.licence, kind=Decision.Kind.SUSPEND, by=b.officer, reason="x")


def test_scope_extension_and_reduction_reissue(world):
    a = world.a
    with tenant_scope(a.body):
        services.do_take_decision(licence=a.licence, kind=Decision.Kind.EXTEND_SCOPE, by=a.officer,
                                  reason="New product", products=[a.product2])
        current = services.current_certificate(a.licence)
        assert current.version == 2
        assert {p["name"] for p in current.content["products"]} == {a.product.commercial_name,
                                                                     a.product2.commercial_name}
        services.do_take_decision(licence=a.licence, kind=Decision.Kind.REDUCE_SCOPE, by=a.officer,
                                  reason="Discontinued", products=[a.product])
        current = services.current_certificate(a.licence)
        assert current.version == 3 and [p["name"] for p in current.content["products"]] == [a.product2.commercial_name]
        with pytest.raises(services.Refused):
            services.do_take_decision(licence=a.licence, kind=Decision.Kind.REDUCE_SCOPE, by=a.officer,
                                      reason="all", products=[a.product2])


def test_refuse_and_withdraw_application(world):
    a = world.a
    with tenant_scope(a.body):
        app = services.do_create_application(holder=a.holder, site=a.site, mark=a.mark,
                                             regulation_version=a.lic_version, products=[a.product2])
        services.do_withdraw_application(application=app, by=a.holder_user, reason="changed our mind")
        app.refresh_from_db()
        assert app.state == Application.State.WITHDRAWN
        with pytest.raises(services.Refused):
            services.do_submit_application(application=app)
        app2 = services.do_create_application(holder=a.holder, site=a.site, mark=a.mark,
                                              regulation_version=a.lic_version, products=[a.product2])
        services.do_submit_application(application=app2)
        Application.objects.filter(pk=app2.pk).update(state=Application.State.PACK_SENT, confirmation="electronic")
        services.do_start_review(application=app2)
        app2 = services.do_admit(application=app2, by=a.officer)
        services.do_take_decision(licence=app2.licence, kind=Decision.Kind.REFUSE, by=a.officer, reason="Type tests failed")
        app2.refresh_from_db()
        app2.licence.refresh_from_db()
        assert app2.state == Application.State.REFUSED and app2.licence.state == Licence.State.WITHDRAWN
        assert not Certificate.objects.filter(licence=app2.licence).exists()


def test_application_rules(world):
    a, b = world.a, world.b
    with tenant_scope(a.body):
        draft = a.lic_version.__class__.objects.create(body=a.body, regulation=a.lic_version.regulation,
                                                              version=2)
        with pytest.raises(services.Refused):
            services.do_create_application(holder=a.holder, site=a.site, mark=a.mark, regulation_version=draft,
                                           products=[a.product])
        other_site = services.do_add_site(holder=a.holder2, name="Elsewhere")
        with pytest.raises(services.Refused):
            services.do_create_application(holder=a.holder, site=other_site, mark=a.mark,
                                           regulation_version=a.lic_version, products=[a.product])
        with pytest.raises(services.Refused):
            services.do_create_application(holder=a.holder, site=a.site, mark=a.mark,
                                           regulation_version=a.lic_version, products=[])
    with scopes_disabled("test"):
        mark, category = reference_data()
        assert published_version(b.body, mark, category, code="OTHER").regulation.body == b.body
    assert Role.OFFICER


def test_invite_colleague(world, mailoutbox=None):
    a = world.a
    with tenant_scope(a.body):
        membership = services.do_invite_holder_user(holder=a.holder, email="colleague@holder1.test",
                                                    role="contributor", invited_by=a.holder_user)
        assert membership.holder == a.holder
        contributor = membership.user
        with pytest.raises(services.Refused):
            services.do_invite_holder_user(holder=a.holder, email="x@holder1.test", role="contributor",
                                           invited_by=contributor)
        do_add_member(body=a.body, email="planner@alpha.test", role=Role.PLANNER)


def test_failed_render_is_recorded_and_retried_a_few_times(world, monkeypatch):
    a = world.a

    def broken(certificate):
        raise RuntimeError("fonts missing")

    monkeypatch.setattr(services, "render_certificate_pdf", broken)
    with pytest.raises(RuntimeError):
        tasks.render_certificate(a.body.pk, a.certificate.pk)
    with tenant_scope(a.body):
        certificate = Certificate.objects.get(pk=a.certificate.pk)
        assert (certificate.render_status, certificate.render_attempts) == ("failed", 1)
        assert "fonts missing" in certificate.render_error
        Certificate.objects.filter(pk=certificate.pk).update(
            render_requested_at=timezone.now() - dt.timedelta(hours=1), render_attempts=tasks.MAX_ATTEMPTS)
    sent = []
    monkeypatch.setattr(tasks.render_certificate, "delay", lambda *args: sent.append(args))
    tasks.requeue_stuck_certificate_renders()
    assert (a.body.pk, a.certificate.pk) not in sent  # gave up after MAX_ATTEMPTS; staff see the error
