from django.urls import path

from inspections import views

inspector_patterns = [
    path("", views.inspector_home, name="home"),
]
