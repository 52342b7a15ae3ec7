from certification.models import Membership
from certification.tenancy import scopes_disabled
from tests.isolation import Walk


def membership_pk(user):
    with scopes_disabled("test"):
        return Membership.objects.get(user=user).pk


ROUTES = {
    "staff:member-detail": Walk(lambda w: {"pk": membership_pk(w.a.officer)}),
    "password_reset_confirm": Walk(lambda w: {"uidb64": "MQ", "token": "set-password"}, owner=None,
                                   object_route=False),
}
UNWALKABLE = {}
