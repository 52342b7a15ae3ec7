"""Demo data of inspections/ (inspectors are staff members created by load_demo)."""

LOGINS = []


def build(body, ctx):
    pass
