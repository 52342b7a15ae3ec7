from django.shortcuts import render

from certification.access import staff_required


@staff_required("inspections.perform")
def inspector_home(request):
    return render(request, "inspector/home.html", {"membership": request.membership})
