from django.urls import path

from . import views

app_name = "reachability"
urlpatterns = [
    path("", views.ask, name="ask"),
    path("probe/", views.probe, name="probe"),
]
