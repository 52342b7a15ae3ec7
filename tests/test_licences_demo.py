"""The demo walks an applicant from application to a granted licence with a downloadable certificate."""

import io

import pytest
from django.core.management import call_command
from pypdf import PdfReader

from certification.models import CertificationBody
from certification.tenancy import tenant_scope
from licences.models import Application, Certificate, Licence

pytestmark = pytest.mark.django_db


def test_demo_grants_a_licence_with_a_rendered_certificate(settings, tmp_path, login):
    settings.MEDIA_ROOT = tmp_path
    call_command("load_demo", stdout=io.StringIO())
    body = CertificationBody.objects.get(code="copro")
    with tenant_scope(body):
        # other apps' demos add licences for the same holder: take the one granted on the AV-Surf application
        licence = Licence.objects.get(holder__name="Asfalt Vlaanderen NV", state=Licence.State.ACTIVE,
                                      application__products__quick_code="10100010")
        assert licence.application.state == Application.State.GRANTED
        certificate = Certificate.objects.get(licence=licence)
        assert certificate.render_status == Certificate.RenderStatus.RENDERED
        text = "".join(page.extract_text() for page in PdfReader(certificate.pdf.open("rb")).pages)
        assert Application.objects.filter(state=Application.State.SUBMITTED).count() == 1
        manager = licence.holder.memberships.get().user
    for expected in ("Asfalt Vlaanderen NV", "AV-Surf AC 10", "BENOR", licence.regulation_version.regulation.code,
                     "COPRO-BENOR-000001"):
        assert expected in text
    response = login(manager).get(f"/portal/certificates/{certificate.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
