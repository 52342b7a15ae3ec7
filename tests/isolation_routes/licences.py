from tests.isolation import Walk

ROUTES = {
    "staff:holder-detail": Walk(lambda w: {"pk": w.a.holder.pk}, owner_sees_marker=True),
    "staff:holder-edit": Walk(lambda w: {"pk": w.a.holder.pk}, owner_sees_marker=True),
    "api:holder-detail": Walk(lambda w: {"pk": w.a.holder.pk}, owner_sees_marker=True),
}
UNWALKABLE = {}
