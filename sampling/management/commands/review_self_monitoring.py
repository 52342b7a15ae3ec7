"""Review last month's self-monitoring now, as the daily beat job does (see docs/sampling.md).

    manage.py review_self_monitoring                            # every active body, last month
    manage.py review_self_monitoring --body COPRO --today 2026-12-01
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from certification.models import CertificationBody
from certification.tenancy import tenant_scope
from sampling import services


class Command(BaseCommand):
    help = "Check last month's self-monitoring of every live licence's products against the required frequencies."

    def add_arguments(self, parser):
        parser.add_argument("--body", help="body code (default: every active body)")
        parser.add_argument("--today", type=dt.date.fromisoformat, help="review the month before this date")

    def handle(self, *args, **options):
        bodies = CertificationBody.objects.filter(is_active=True).order_by("code")
        if options["body"]:
            bodies = CertificationBody.objects.filter(code__iexact=options["body"])
            if not bodies.exists():
                raise CommandError(f"No certification body with code {options['body']!r}.")
        for body in bodies:
            with tenant_scope(body):
                counts = services.run_self_monitoring_reviews(today=options["today"])
            self.stdout.write(f"{body.code}: {counts['reviewed']} reviewed, {counts['incomplete']} with missing tests")
