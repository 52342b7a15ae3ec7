"""Issue, list and revoke API keys from the command line.

    manage.py api_keys create --body COPRO --name "ERP" --kind body --role officer --scope read --scope write
    manage.py api_keys create --body COPRO --name "Holder ERP" --kind holder --holder 12 --expires 2027-12-31
    manage.py api_keys list --body COPRO
    manage.py api_keys revoke --body COPRO --prefix 0a1b2c3d4e5f
"""

from datetime import datetime, time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from certification.api import services
from certification.models import ApiKey, CertificationBody
from certification.tenancy import tenant_scope


class Command(BaseCommand):
    help = "Issue (shown once), list and revoke API keys of a certification body."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create")
        create.add_argument("--body", required=True, help="body code")
        create.add_argument("--name", required=True)
        create.add_argument("--kind", choices=ApiKey.Kind.values, default="body")
        create.add_argument("--role", default="")
        create.add_argument("--holder", type=int)
        create.add_argument("--laboratory", type=int)
        create.add_argument("--scope", action="append", choices=ApiKey.SCOPES, dest="scopes")
        create.add_argument("--expires", help="YYYY-MM-DD (end of that day, local time)")
        listing = sub.add_parser("list")
        listing.add_argument("--body", required=True)
        revoke = sub.add_parser("revoke")
        revoke.add_argument("--body", required=True)
        revoke.add_argument("--prefix", required=True)
        revoke.add_argument("--reason", default="")

    def handle(self, *args, **options):
        body = CertificationBody.objects.filter(code=options["body"]).first()
        if body is None:
            raise CommandError(f"no body with code {options['body']!r}")
        with tenant_scope(body):
            getattr(self, f"_{options['action']}")(body, options)

    def _create(self, body, options):
        from licences.models import LicenceHolder
        from sampling.models import Laboratory

        expires_at = None
        if options["expires"]:
            day = datetime.strptime(options["expires"], "%Y-%m-%d").date()
            expires_at = timezone.make_aware(datetime.combine(day, time.max))
        try:
            issued = services.do_create_api_key(
                body=body, name=options["name"], kind=options["kind"], role=options["role"],
                holder=LicenceHolder.objects.filter(pk=options["holder"]).first() if options["holder"] else None,
                laboratory=Laboratory.objects.filter(pk=options["laboratory"]).first() if options["laboratory"] else None,
                scopes=options["scopes"] or ["read"], expires_at=expires_at,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        self.stdout.write(f"Key {issued.api_key.prefix} issued. Shown once, store it now:\n{issued.token}")

    def _list(self, body, options):
        for key in ApiKey.objects.order_by("-created_at", "-pk"):
            state = "revoked" if key.revoked_at else ("active" if key.is_usable else "expired")
            scopes = ",".join(key.scopes)
            self.stdout.write(f"{key.prefix}  {key.kind:6} {key.role or '-':9} {scopes:10} {state:8} {key.name}")

    def _revoke(self, body, options):
        key = ApiKey.objects.filter(prefix=options["prefix"]).first()
        if key is None:
            raise CommandError("no such key in this body")
        services.do_revoke_api_key(api_key=key, reason=options["reason"])
        self.stdout.write(f"Key {key.prefix} revoked.")
