"""Adds inspections objects to the test world (body A's with secret markers), see tests/world.py."""


def extend(world, body_ns, secret):
    """Called for each body inside scopes_disabled(); add objects to body_ns."""
