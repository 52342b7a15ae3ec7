from django.urls import path

from marks import views

staff_patterns = [
    path("mandates/", views.mandate_list, name="mandate-list"),
    path("reference/", views.reference_data, name="mark-reference"),
    path("inspection-plans/", views.inspection_plans, name="inspection-plans"),
    path("regulations/", views.regulation_list, name="regulation-list"),
    path("regulations/new/", views.regulation_create, name="regulation-create"),
    path("regulations/<int:pk>/", views.regulation_detail, name="regulation-detail"),
    path("regulations/<int:pk>/draft/", views.version_draft, name="regulation-draft"),
    path("regulation-versions/<int:pk>/", views.version_detail, name="version-detail"),
    path("regulation-versions/<int:pk>/edit/", views.version_edit, name="version-edit"),
    path("regulation-versions/<int:pk>/publish/", views.version_publish, name="version-publish"),
    path("regulation-versions/<int:pk>/compare/", views.version_compare, name="version-compare"),
    path("regulation-versions/<int:pk>/document/", views.version_document, name="version-document"),
    path("regulation-versions/<int:pk>/import/", views.version_import, name="version-import"),
    path("regulation-versions/<int:pk>/export.csv", views.version_export, {"fmt": "csv"}, name="version-export-csv"),
    path("regulation-versions/<int:pk>/export.json", views.version_export, {"fmt": "json"},
         name="version-export-json"),
]
public_patterns = [
    path("", views.public_home, name="home"),
]
