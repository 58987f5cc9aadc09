from django.urls import path

from . import views

app_name = "hostnet"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:host_pk>/", views.host_network, name="host"),
    path("<int:host_pk>/<str:action>/", views.change, name="change"),
]
