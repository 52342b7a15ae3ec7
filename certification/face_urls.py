from django.urls import path

from certification import views
from certification.api import staff_views as api_staff_views

staff_patterns = [
    path("", views.dashboard, name="dashboard"),
    path("switch-body/", views.switch_body, name="switch-body"),
    path("members/", views.member_list, name="members"),
    path("members/<int:pk>/", views.member_detail, name="member-detail"),
    path("audit/", views.audit_log, name="audit"),
    path("api-keys/", api_staff_views.api_keys, name="api-keys"),
    path("api-keys/<int:pk>/revoke/", api_staff_views.api_key_revoke, name="api-key-revoke"),
]
