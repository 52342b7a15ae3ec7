"""Load the demo: reference data (marks, categories) and a COPRO-like body with people in every role.

Each app adds its part in ``<app>/demo.py`` (``build(body, ctx)`` and ``LOGINS``), in the order below.
"""

from importlib import import_module
from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, call_command
from django.db import transaction

from certification import services
from certification.audit import acting_as
from certification.models import CertificationBody, Role
from certification.tenancy import scopes_disabled, tenant_scope

DEMO_PASSWORD = "demo-password"
FIXTURES = Path(settings.BASE_DIR) / "fixtures"
DEMO_APPS = ["marks", "licences", "inspections", "sampling"]

STAFF = [
    ("admin@copro.demo", "Ann Admin", Role.ADMIN),
    ("officer@copro.demo", "Olivier Officer", Role.OFFICER),
    ("officer2@copro.demo", "Odile Officer", Role.OFFICER),
    ("planner@copro.demo", "Paula Planner", Role.PLANNER),
    ("inspector@copro.demo", "Ivan Inspector", Role.INSPECTOR),
    ("inspector2@copro.demo", "Ines Inspector", Role.INSPECTOR),
    ("auditor@copro.demo", "Aud Itor", Role.AUDITOR),
]


class Command(BaseCommand):
    help = "Load reference data and the demo certification body (idempotent)."

    def handle(self, *args, **options):
        with scopes_disabled("demo"):
            call_command("loaddata", str(FIXTURES / "reference.json"), verbosity=0)
            if not CertificationBody.objects.filter(code="copro").exists():
                self.build()
        self.print_logins()

    @transaction.atomic
    def build(self):
        body = services.do_create_body(
            code="copro", name="COPRO (demo)", legal_name="COPRO vzw — demo data",
            company_number="BE0418316359", address="Z.1 Researchpark 110, 1731 Zellik",
            email="info@copro.demo", accreditation="BELAC 046-PROD (ISO/IEC 17065)",
        )
        email, name, role = STAFF[0]
        admin = services.do_add_member(body=body, email=email, full_name=name, role=role, password=DEMO_PASSWORD).user
        ctx = {"password": DEMO_PASSWORD, "admin": admin}
        with acting_as(admin), tenant_scope(body):
            ctx["staff"] = {
                email: services.do_add_member(body=body, email=email, full_name=name, role=role,
                                              password=DEMO_PASSWORD).user
                for email, name, role in STAFF[1:]
            }
            for app in DEMO_APPS:
                import_module(f"{app}.demo").build(body, ctx)

        other = services.do_create_body(code="otherbody", name="Other Body (demo)", accreditation="BELAC 999-PROD")
        services.do_add_member(body=other, email="admin@other.demo", full_name="Other Admin", role=Role.ADMIN,
                               password=DEMO_PASSWORD)

    def print_logins(self):
        rows = [(email, role.label) for email, _, role in STAFF]
        for app in DEMO_APPS:
            rows += import_module(f"{app}.demo").LOGINS
        rows.append(("admin@other.demo", "Admin of another body (tenancy demo)"))
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD})")
        for email, what in rows:
            self.stdout.write(f"  {email:<34} {what}")
        self.stdout.write("Open http://127.0.0.1:8000/ and log in.\n")
