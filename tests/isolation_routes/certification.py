from certification.models import Membership
from certification.tenancy import scopes_disabled
from tests.isolation import Walk


def membership_pk(user):
    with scopes_disabled("test"):
        return Membership.objects.get(user=user).pk


ROUTES = {
    "staff:member-detail": Walk(lambda w: {"pk": membership_pk(w.a.officer)}),
    "staff:api-key-revoke": Walk(lambda w: {"pk": w.a.api_key.api_key.pk}, owner=None),
    "api:apikey-detail": Walk(lambda w: {"pk": w.a.api_key.api_key.pk}, owner_sees_marker=True),
    # Webhook subscriptions answer API keys only: no session user owns them (tests/test_api_schema.py
    # walks them with the owning key and a peer body's key).
    "api:webhook-detail": Walk(lambda w: {"pk": w.a.webhook.pk}, owner=None),
    "password_reset_confirm": Walk(lambda w: {"uidb64": "MQ", "token": "set-password"}, owner=None,
                                   object_route=False),
}
UNWALKABLE = {}
