"""A small installation with two bodies, used by the access and isolation tests.

Body A is the victim: its licence-holder ``holder`` and laboratory ``lab`` carry secret markers that
no outsider may ever see. The outsiders are: B's administrator (other body), holder2's manager
(other company, same body), an inspector of A not assigned to anything, the user of A's other lab
(unassigned lab), and an anonymous visitor.
"""

from dataclasses import dataclass, field
from importlib import import_module
from types import SimpleNamespace

from certification import services
from certification.models import Role
from certification.tenancy import scopes_disabled, tenant_scope
from licences.models import HolderMembership
from licences.services import do_add_holder_user, do_register_holder
from sampling.services import do_add_lab_user, do_recognise_laboratory

PASSWORD = "correct-horse-battery-staple"


@dataclass
class World:
    a: SimpleNamespace
    b: SimpleNamespace
    markers: list = field(default_factory=list)

    def owners(self):
        return {"staff": self.a.admin, "portal": self.a.holder_user, "lab": self.a.lab_user,
                "inspector": self.a.inspector}

    def outsiders(self):
        return {
            "other body's staff": self.b.admin,
            "other holder's portal user": self.a.holder2_user,
            "unassigned inspector": self.a.inspector2,
            "unassigned lab": self.a.lab2_user,
            "anonymous": None,
        }


def build_body(code, name, company_numbers, secret):
    body = services.do_create_body(code=code, name=name)
    ns = SimpleNamespace(body=body)
    with tenant_scope(body):
        ns.admin = services.do_add_member(body=body, email=f"admin@{code}.test", role=Role.ADMIN,
                                          password=PASSWORD).user
        ns.officer = services.do_add_member(body=body, email=f"officer@{code}.test", role=Role.OFFICER,
                                            password=PASSWORD).user
        ns.auditor = services.do_add_member(body=body, email=f"auditor@{code}.test", role=Role.AUDITOR,
                                            password=PASSWORD).user
        ns.inspector = services.do_add_member(body=body, email=f"inspector@{code}.test", role=Role.INSPECTOR,
                                              password=PASSWORD).user
        ns.inspector2 = services.do_add_member(body=body, email=f"inspector2@{code}.test", role=Role.INSPECTOR,
                                               password=PASSWORD).user
        ns.holder = do_register_holder(
            body=body, name=f"{name} Holder One", company_number=company_numbers[0],
            email=f"contact-{secret}@holder1.test", phone=f"+32 {secret}", internal_notes=f"notes {secret}",
        )
        ns.holder_user = do_add_holder_user(holder=ns.holder, email=f"manager@holder1-{code}.test",
                                            role=HolderMembership.Role.MANAGER, password=PASSWORD).user
        ns.holder2 = do_register_holder(body=body, name=f"{name} Holder Two", company_number=company_numbers[1])
        ns.holder2_user = do_add_holder_user(holder=ns.holder2, email=f"manager@holder2-{code}.test",
                                             role=HolderMembership.Role.MANAGER, password=PASSWORD).user
        ns.lab = do_recognise_laboratory(body=body, name=f"{name} Lab One", accreditation=f"accr {secret}-lab")
        ns.lab_user = do_add_lab_user(laboratory=ns.lab, email=f"lab1@{code}.test", password=PASSWORD).user
        ns.lab2 = do_recognise_laboratory(body=body, name=f"{name} Lab Two")
        ns.lab2_user = do_add_lab_user(laboratory=ns.lab2, email=f"lab2@{code}.test", password=PASSWORD).user
    return ns


# Each app adds its objects in tests/worlds/<app>.py, in this order.
WORLD_EXTENSIONS = ["marks", "licences", "inspections", "sampling", "certification"]


def build_world():
    with scopes_disabled("test world"):
        a = build_body("alpha", "Alpha Body", ["BE0403170701", "BE0202239951"], "SECRETA7731")
        b = build_body("beta", "Beta Body", ["BE0418316359", "BE0403170701"], "SECRETB4402")
        world = World(a=a, b=b, markers=["SECRETA7731"])
        for name in WORLD_EXTENSIONS:
            extend = import_module(f"tests.worlds.{name}").extend
            for body_ns, secret in ((a, "SECRETA7731"), (b, "SECRETB4402")):
                with tenant_scope(body_ns.body):
                    extend(world, body_ns, secret)
    return world
