from django.urls import path

from certification import views

staff_patterns = [
    path("", views.dashboard, name="dashboard"),
    path("switch-body/", views.switch_body, name="switch-body"),
    path("members/", views.member_list, name="members"),
    path("members/<int:pk>/", views.member_detail, name="member-detail"),
    path("audit/", views.audit_log, name="audit"),
]
