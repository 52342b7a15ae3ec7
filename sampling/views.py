from django.shortcuts import render

from certification.access import lab_required


@lab_required
def lab_home(request):
    return render(request, "lab/home.html", {"laboratory": request.lab_membership.laboratory})
