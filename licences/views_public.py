"""Public pages: certified-product directory, product and certificate pages, verification by number or QR.

Every read goes through ``public_reads()`` and the public selectors, which only return public data.
"""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from certification.tenancy import public_reads
from licences import forms, selectors


@require_GET
def directory(request):
    with public_reads():
        form = forms.SearchForm(request.GET or None)
        filters = form.cleaned_data if form.is_valid() else {}
        products = selectors.search_public_products(**filters)
        page = Paginator(products, 25).get_page(request.GET.get("page"))
        rows = [(p, list(selectors.public_licences_of(p))) for p in page]
        return render(request, "public/directory.html", {"form": form, "page": page, "rows": rows})


@require_GET
def product(request, quick_code):
    with public_reads():
        item = selectors.public_product(quick_code)
        if item is None:
            raise Http404
        rows = []
        for licence in selectors.public_licences_of(item):
            certificate = licence.certificates.filter(superseded_at__isnull=True).order_by("-version").first()
            rows.append((licence, certificate))
        return render(request, "public/product.html", {"product": item, "rows": rows})


@require_GET
def certificate(request, number):
    with public_reads():
        result = selectors.verify_delivery(number)
        if not result.found:
            raise Http404
        products = list(result.licence.products.select_related("category"))
        return render(request, "public/certificate.html", {"result": result, "products": products})


@require_GET
def verify(request):
    with public_reads():
        form = forms.VerifyForm(request.GET or None)
        result = None
        if form.is_valid():
            result = selectors.verify_delivery(form.cleaned_data["reference"], form.cleaned_data["on_date"])
        return render(request, "public/verify.html", {"form": form, "result": result})


@require_GET
def verify_certificate(request, number):
    """The QR code's target: the current status of a certificate, with a delivery-date check."""
    with public_reads():
        form = forms.VerifyForm({"reference": number, "on_date": request.GET.get("on_date", "")})
        on_date = form.cleaned_data["on_date"] if form.is_valid() else None
        result = selectors.verify_delivery(number, on_date)
        if not result.found:
            raise Http404
        return render(request, "public/verify.html", {"form": form, "result": result, "from_qr": True})
