from django.urls import path

from licences import views

staff_patterns = [
    path("holders/", views.holder_list, name="holder-list"),
    path("holders/new/", views.holder_create, name="holder-create"),
    path("holders/<int:pk>/", views.holder_detail, name="holder-detail"),
    path("holders/<int:pk>/edit/", views.holder_edit, name="holder-edit"),
]
portal_patterns = [
    path("", views.portal_home, name="home"),
]
