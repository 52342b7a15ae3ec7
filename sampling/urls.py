from django.urls import path

from sampling import views

lab_patterns = [
    path("", views.lab_home, name="home"),
]
