from django.urls import path

from marks import views

staff_patterns = [
    path("mandates/", views.mandate_list, name="mandate-list"),
]
public_patterns = [
    path("", views.public_home, name="home"),
]
