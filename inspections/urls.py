from django.urls import path

from inspections import views

inspector_patterns = [
    path("", views.inspector_home, name="home"),
    path("sw.js", views.inspector_service_worker, name="service-worker"),
    path("visits/<int:pk>/", views.inspector_visit, name="visit"),
    path("visits/<int:pk>/state/", views.inspector_visit_state, name="visit-state"),
    path("visits/<int:pk>/op/<slug:action>/", views.inspector_visit_op, name="visit-op"),
    path("visits/<int:pk>/photos/", views.inspector_photo_start, name="photo-start"),
    path("visits/<int:pk>/photos/<uuid:upload_id>/", views.inspector_photo_chunk, name="photo-chunk"),
]

staff_patterns = [
    path("inspections/", views.staff_dashboard, name="inspections-dashboard"),
    path("inspections/plan/", views.staff_plan, name="inspections-plan"),
    path("inspections/inspectors/", views.staff_inspectors, name="inspectors"),
    path("inspections/inspectors/<int:pk>/", views.staff_inspector, name="inspector-detail"),
    path("inspections/visits/new/", views.staff_visit_create, name="visit-create"),
    path("inspections/visits/", views.staff_visit_list, name="visit-list"),
    path("inspections/visits/<int:pk>/", views.staff_visit, name="visit-detail"),
    path("inspections/visits/<int:pk>/assign/", views.staff_visit_assign, name="visit-assign"),
    path("inspections/visits/<int:pk>/reschedule/", views.staff_visit_reschedule, name="visit-reschedule"),
    path("inspections/visits/<int:pk>/cancel/", views.staff_visit_cancel, name="visit-cancel"),
    path("inspections/visits/<int:pk>/review/", views.staff_visit_review, name="visit-review"),
    path("inspections/visits/<int:pk>/close/", views.staff_visit_close, name="visit-close"),
    path("inspections/visits/<int:pk>/report.pdf", views.staff_visit_report, name="visit-report"),
    path("inspections/actions/<int:pk>/decide/", views.staff_action_decide, name="action-decide"),
]

portal_patterns = [
    path("inspections/", views.portal_reports, name="inspection-reports"),
    path("inspections/<int:pk>/", views.portal_report, name="inspection-report"),
    path("inspections/<int:pk>/report.pdf", views.portal_report_pdf, name="inspection-report-pdf"),
    path("inspections/findings/<int:pk>/action/", views.portal_finding_action, name="finding-action"),
]
