"""Demo data of licences/: two licence-holders with a portal manager each."""

from licences.models import HolderMembership
from licences.services import do_add_holder_user, do_register_holder

HOLDERS = [
    ("Asfalt Vlaanderen NV", "BE0403170701", "Industrieweg 12, 9000 Gent", "manager@asfalt-vlaanderen.demo"),
    ("Granulats Wallons SA", "BE0202239951", "Rue de la Carrière 5, 5000 Namur", "manager@granulats-wallons.demo"),
]
LOGINS = [(manager, "Licence-holder portal (manager)") for *_, manager in HOLDERS]


def build(body, ctx):
    ctx["holders"] = []
    for name, number, address, manager in HOLDERS:
        holder = do_register_holder(body=body, name=name, company_number=number, address=address, email=manager)
        do_add_holder_user(holder=holder, email=manager, role=HolderMembership.Role.MANAGER,
                           password=ctx["password"])
        ctx["holders"].append(holder)
