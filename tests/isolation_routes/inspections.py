from tests.isolation import Walk

ROUTES = {
    # Inspector face: only the assigned inspector (guardian object grant) sees the visit.
    "inspector:visit": Walk(lambda w: {"pk": w.a.insp_visit.pk}, owner="inspector", owner_sees_marker=True),
    "inspector:visit-state": Walk(lambda w: {"pk": w.a.insp_visit.pk}, owner="inspector", owner_sees_marker=True),
    "inspector:visit-op": Walk(lambda w: {"pk": w.a.insp_visit.pk, "action": "checklist"}, owner=None),
    "inspector:photo-start": Walk(lambda w: {"pk": w.a.insp_visit.pk}, owner=None),
    "inspector:photo-chunk": Walk(
        lambda w: {"pk": w.a.insp_visit.pk, "upload_id": "00000000-0000-4000-8000-000000000000"}, owner=None),
    # Staff face.
    "staff:visit-detail": Walk(lambda w: {"pk": w.a.insp_visit.pk}, owner_sees_marker=True),
    "staff:visit-assign": Walk(lambda w: {"pk": w.a.insp_visit.pk}, owner=None),
    # Reschedule / cancel (POST only, planning.manage): outsiders 403/404/405 and no audit event in body A.
    "staff:visit-reschedule": Walk(lambda w: {"pk": w.a.insp_visit.pk}, owner=None),
    "staff:visit-cancel": Walk(lambda w: {"pk": w.a.insp_visit.pk}, owner=None),
    "staff:visit-review": Walk(lambda w: {"pk": w.a.insp_visit.pk}, owner=None),
    "staff:visit-close": Walk(lambda w: {"pk": w.a.insp_visit.pk}, owner=None),
    "staff:visit-report": Walk(lambda w: {"pk": w.a.insp_visit.pk}),
    "staff:inspector-detail": Walk(lambda w: {"pk": w.a.insp_profiles[0].pk}),
    "staff:action-decide": Walk(lambda w: {"pk": w.a.insp_action.pk}, owner=None),
    # REST API (body keys / staff sessions; an unassigned inspector sees only its own visits).
    "api:visit-detail": Walk(lambda w: {"pk": w.a.insp_visit.pk}, owner_sees_marker=True),
    "api:visit-cancel": Walk(lambda w: {"pk": w.a.insp_visit.pk}, owner=None),  # POST only
    # Holder portal.
    "portal:inspection-report": Walk(lambda w: {"pk": w.a.insp_visit.pk}, owner="portal", owner_sees_marker=True),
    "portal:inspection-report-pdf": Walk(lambda w: {"pk": w.a.insp_visit.pk}, owner="portal"),
    "portal:finding-action": Walk(lambda w: {"pk": w.a.insp_finding.pk}, owner=None),
}
UNWALKABLE = {}
