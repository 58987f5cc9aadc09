from django.urls import path

from . import views

app_name = "vms"
urlpatterns = [
    path("", views.vm_list, name="list"),
    path("create/", views.vm_create, name="create"),
    path("nic-warnings/", views.nic_warnings_view, name="nic_warnings"),
    path("<int:pk>/", views.vm_detail, name="detail"),
    path("<int:pk>/delete/", views.vm_delete, name="delete"),
    path("<int:pk>/nics/add/", views.nic_add, name="nic_add"),
    path("<int:pk>/nics/<str:mac>/", views.nic_edit, name="nic_edit"),
    path("<int:pk>/nics/<str:mac>/remove/", views.nic_remove, name="nic_remove"),
    path("<int:pk>/nics/<str:mac>/bounce/", views.nic_bounce, name="nic_bounce"),
    path("<int:pk>/nics/<str:mac>/persist/", views.nic_persist, name="nic_persist"),
    path("<int:pk>/<str:action>/", views.vm_action, name="action"),
]
