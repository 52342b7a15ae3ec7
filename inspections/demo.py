"""Demo data of inspections/: inspector profiles with qualifications, and this year's plan.

Inspectors are staff members created by load_demo. Each gets a profile qualified for every product
category the body is mandated for. If the licences demo created licences, this year's visits are
planned (idempotent) and the first one of each inspector is moved to today so the mobile form has work.
"""

import datetime as dt

from django.utils import timezone

from certification.models import Membership, Role
from inspections import services
from inspections.models import Visit
from licences.models import Licence
from marks.models import Mandate, ProductCategory

LOGINS = []


def build(body, ctx):
    categories = ProductCategory.objects.filter(mandates__in=Mandate.objects.filter(body=body)).distinct()
    inspectors = [m.user for m in Membership.objects.filter(body=body, role=Role.INSPECTOR).select_related("user")]
    for user in inspectors:
        profile = services.do_create_inspector_profile(body=body, user=user)
        for category in categories:
            services.do_add_qualification(profile=profile, category=category, valid_from=dt.date(2020, 1, 1))
    if not Licence.objects.filter(body=body).exists():
        return
    today = timezone.localdate()
    services.do_plan_year(body=body, year=today.year, today=today)
    for user in inspectors:
        first = Visit.objects.filter(inspector=user, state=Visit.State.ASSIGNED).order_by("planned_for").first()
        if first is not None:
            Visit.objects.filter(pk=first.pk).update(planned_for=today)
