from django.core.files.base import ContentFile

from certification.tenancy import tenant_scope
from tests.isolation import Walk


def with_files(w):
    """Give A's application a stored pack and signed copy (the shared world does not render PDFs)."""
    app = w.a.application
    with tenant_scope(w.a.body):
        if not app.pack:
            app.pack.save(f"test/{app.reference}.pdf", ContentFile(b"%PDF-1.4\n% pack\n"), save=False)
            app.signed_copy.save(f"test/{app.reference}-signed.pdf", ContentFile(b"%PDF-1.4\n% signed\n"), save=False)
            app.save(update_fields=["pack", "signed_copy"])
    return {"pk": app.pk}


def holder(w):
    return {"holder_pk": w.a.holder.pk}


def application(w):
    return {"pk": w.a.application.pk}


def licence(w):
    return {"pk": w.a.licence.pk}


def certificate(w):
    return {"pk": w.a.certificate.pk}


ROUTES = {
    "staff:holder-detail": Walk(lambda w: {"pk": w.a.holder.pk}, owner_sees_marker=True),
    "staff:holder-edit": Walk(lambda w: {"pk": w.a.holder.pk}, owner_sees_marker=True),
    "api:holder-detail": Walk(lambda w: {"pk": w.a.holder.pk}, owner_sees_marker=True),
    "staff:holder-site-create": Walk(holder),
    "staff:holder-product-create": Walk(holder),
    "staff:application-create": Walk(holder),
    "staff:application-detail": Walk(application, owner_sees_marker=True),
    "staff:application-action": Walk(application, owner=None),  # POST only
    "staff:application-pack": Walk(with_files),
    "staff:application-signed-copy": Walk(with_files),
    "staff:licence-detail": Walk(licence, owner_sees_marker=True),
    "staff:licence-decide": Walk(licence, owner=None),
    "staff:licence-sanction": Walk(licence, owner=None),
    "staff:licence-appeal": Walk(licence, owner=None),
    "staff:licence-issue": Walk(licence, owner=None),
    "staff:licence-results": Walk(licence),
    "staff:sanction-lift": Walk(lambda w: {"pk": w.a.sanction.pk}, owner=None),
    "staff:appeal-update": Walk(lambda w: {"pk": w.a.appeal.pk}, owner=None),
    "staff:certificate-pdf": Walk(certificate),
    "staff:product-edit": Walk(lambda w: {"pk": w.a.product.pk}),
    "portal:product-edit": Walk(lambda w: {"pk": w.a.product.pk}, owner="portal"),
    "portal:application-detail": Walk(application, owner="portal"),
    "portal:application-action": Walk(application, owner=None),
    "portal:application-pack": Walk(with_files, owner="portal"),
    "portal:licence-detail": Walk(licence, owner="portal", owner_sees_marker=True),
    "portal:licence-results": Walk(licence, owner="portal"),
    "portal:certificate-pdf": Walk(certificate, owner="portal"),
    "public:product": Walk(lambda w: {"quick_code": w.a.product.quick_code}, owner=None, object_route=False),
    "public:certificate": Walk(lambda w: {"number": w.a.certificate.full_number}, owner=None, object_route=False),
    "public:verify-certificate": Walk(lambda w: {"number": w.a.certificate.full_number}, owner=None,
                                      object_route=False),
    "api:certified-product-detail": Walk(lambda w: {"pk": w.a.product.pk}),
    "api:certificate-detail": Walk(certificate),
    "api:licence-status-detail": Walk(licence),
}
UNWALKABLE = {}
