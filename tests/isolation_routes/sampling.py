from sampling.models import LaboratoryMembership
from tests.isolation import Walk


def _lab_membership(world):
    return LaboratoryMembership._base_manager.get(user=world.a.lab_user).pk


ROUTES = {
    # inspector face: only the visit's assigned inspector
    "inspector:sample-take": Walk(lambda w: {"visit_pk": w.a.sm_chain.visit.pk}, owner="inspector"),
    "inspector:sample-detail": Walk(lambda w: {"pk": w.a.sm_sample.pk}, owner="inspector", owner_sees_marker=True),
    "inspector:sample-label": Walk(lambda w: {"pk": w.a.sm_sample.pk}, owner="inspector"),
    # lab face: only the lab the sample was sent to (scope + guardian object grant)
    "lab:sample-detail": Walk(lambda w: {"pk": w.a.sm_sample.pk}, owner="lab", owner_sees_marker=True),
    "lab:sample-receive": Walk(lambda w: {"pk": w.a.sm_sample.pk}, owner=None),  # POST only
    "lab:sample-report": Walk(lambda w: {"pk": w.a.sm_sample.pk}, owner=None),  # POST only
    "lab:result-correct": Walk(lambda w: {"pk": w.a.sm_result.pk}, owner="lab"),
    # portal face: the holder's own products
    "portal:self-monitoring-chart": Walk(
        lambda w: {"product_pk": w.a.sm_licensed.product.pk, "property_code": "binder-content"}, owner="portal"),
    # staff face
    "staff:laboratory-scope": Walk(lambda w: {"pk": w.a.lab.pk}, owner_sees_marker=True),  # accreditation
    "staff:laboratory-detail": Walk(lambda w: {"pk": w.a.lab.pk}, owner_sees_marker=True),
    "staff:laboratory-user-remove": Walk(lambda w: {"pk": w.a.lab.pk, "membership_pk": _lab_membership(w)},
                                         owner=None),  # POST only
    "staff:sample-detail": Walk(lambda w: {"pk": w.a.sm_sample.pk}, owner_sees_marker=True),
    "staff:conformity-decide": Walk(lambda w: {"pk": w.a.sm_outcome.pk}, owner=None),  # POST only
    "staff:control-chart": Walk(
        lambda w: {"product_pk": w.a.sm_licensed.product.pk, "property_code": "binder-content"}),
    # API
    "api:lab-result-detail": Walk(lambda w: {"pk": w.a.sm_result.pk}, owner="lab"),
    "api:lab-result-correct": Walk(lambda w: {"pk": w.a.sm_result.pk}, owner=None),  # POST only
    "api:self-monitoring-detail": Walk(
        lambda w: {"pk": w.a.sm_self_result.pk}, owner="portal",
        owner_sees_marker=True),
}
UNWALKABLE = {}
