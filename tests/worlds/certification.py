"""Adds partner-API objects to the test world: per body, an admin API key (read+write) and a webhook
subscription owned by it; body A's carry the secret marker in private fields. See tests/world.py."""

from certification.api import services
from certification.models import Role


def extend(world, body_ns, secret):
    """Called for each body inside its tenant scope; add objects to body_ns."""
    body_ns.api_key = services.do_create_api_key(body=body_ns.body, name=f"Partner system {secret}", kind="body",
                                                 role=Role.ADMIN, scopes=["read", "write"])
    body_ns.webhook = services.do_create_subscription(api_key=body_ns.api_key.api_key,
                                                      url=f"https://partner.example.com/hook/{secret}",
                                                      certificates=[f"CERT-{secret}"])
