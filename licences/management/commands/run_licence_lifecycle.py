"""Run the time-driven licence changes now, as the hourly beat job does (see docs/licences.md).

    manage.py run_licence_lifecycle              # every active body
    manage.py run_licence_lifecycle --body COPRO  # one body
"""

from django.core.management.base import BaseCommand, CommandError

from certification.models import CertificationBody
from certification.tenancy import tenant_scope
from licences import services


class Command(BaseCommand):
    help = "End sanctions at their end date, expire licences past their expiry date, send expiry notices."

    def add_arguments(self, parser):
        parser.add_argument("--body", help="body code (default: every active body)")

    def handle(self, *args, **options):
        bodies = CertificationBody.objects.filter(is_active=True).order_by("code")
        if options["body"]:
            bodies = CertificationBody.objects.filter(code__iexact=options["body"])
            if not bodies.exists():
                raise CommandError(f"No certification body with code {options['body']!r}.")
        errors = 0
        for body in bodies:
            with tenant_scope(body):
                counts = services.run_due_lifecycle()
            errors += counts["errors"]
            self.stdout.write(f"{body.code}: " + ", ".join(f"{key} {value}" for key, value in counts.items()))
        if errors:
            raise CommandError(f"{errors} item(s) failed; see the log.")
