from django.shortcuts import render

from certification.access import staff_required
from certification.models import CertificationBody
from certification.tenancy import public_reads
from marks import selectors


def public_home(request):
    """Public landing page: the marks and the bodies certifying on this installation."""
    with public_reads():
        context = {
            "marks": list(selectors.marks()),
            "bodies": list(CertificationBody.objects.filter(is_active=True)),
        }
    return render(request, "public/home.html", context)


@staff_required()
def mandate_list(request):
    return render(request, "marks/mandates.html", {"mandates": selectors.mandates_of_current_body()})
