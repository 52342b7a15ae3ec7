from django.urls import path

from sampling import views

inspector_patterns = [
    path("visits/<int:visit_pk>/samples/new/", views.inspector_take_sample, name="sample-take"),
    path("samples/<int:pk>/", views.inspector_sample_detail, name="sample-detail"),
    path("samples/<int:pk>/label.pdf", views.inspector_sample_label, name="sample-label"),
]

lab_patterns = [
    path("", views.lab_home, name="home"),
    path("samples/<int:pk>/", views.lab_sample_detail, name="sample-detail"),
    path("samples/<int:pk>/receive/", views.lab_receive, name="sample-receive"),
    path("samples/<int:pk>/report/", views.lab_report, name="sample-report"),
    path("results/<int:pk>/correct/", views.lab_correct_result, name="result-correct"),
]

portal_patterns = [
    path("self-monitoring/", views.portal_self_monitoring, name="self-monitoring"),
    path("self-monitoring/upload/", views.portal_upload, name="self-monitoring-upload"),
    path("self-monitoring/chart/<int:product_pk>/<slug:property_code>/", views.portal_chart,
         name="self-monitoring-chart"),
]

staff_patterns = [
    path("laboratories/", views.staff_laboratories, name="laboratory-list"),
    path("laboratories/new/", views.staff_laboratory_create, name="laboratory-create"),
    path("laboratories/<int:pk>/", views.staff_laboratory_detail, name="laboratory-detail"),
    path("laboratories/<int:pk>/scope/", views.staff_laboratory_scope, name="laboratory-scope"),
    path("laboratories/<int:pk>/users/<int:membership_pk>/remove/", views.staff_laboratory_user_remove,
         name="laboratory-user-remove"),
    path("samples/", views.staff_samples, name="sample-list"),
    path("samples/<int:pk>/", views.staff_sample_detail, name="sample-detail"),
    path("conformity/", views.staff_outcomes, name="conformity-outcomes"),
    path("conformity/<int:pk>/decide/", views.staff_decide, name="conformity-decide"),
    path("products/<int:product_pk>/charts/<slug:property_code>/", views.staff_chart, name="control-chart"),
]
