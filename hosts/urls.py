from django.urls import path

from . import views

app_name = "hosts"
urlpatterns = [
    path("", views.host_list, name="list"),
    path("add/", views.host_add, name="add"),
    path("<int:pk>/", views.host_detail, name="detail"),
    path("<int:pk>/sync/", views.host_sync, name="sync"),
    path("<int:pk>/scan-key/", views.host_scan_key, name="scan_key"),
    path("<int:pk>/pin-key/", views.host_pin_key, name="pin_key"),
    path("<int:pk>/delete/", views.host_delete, name="delete"),
]
