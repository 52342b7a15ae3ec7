"""Demo data of sampling/: one recognised laboratory with a user."""

from sampling.services import do_add_lab_user, do_recognise_laboratory

LOGINS = [("lab@roadlab.demo", "Laboratory")]


def build(body, ctx):
    lab = do_recognise_laboratory(body=body, name="Road Materials Lab (demo)",
                                  accreditation="BELAC 123-TEST (ISO/IEC 17025)")
    do_add_lab_user(laboratory=lab, email="lab@roadlab.demo", password=ctx["password"])
    ctx["laboratory"] = lab
