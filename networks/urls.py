from django.urls import path

from . import views

app_name = "networks"
urlpatterns = [
    path("", views.network_list, name="list"),
    path("host/<int:host_pk>/", views.network_list, name="host_list"),
    path("add/", views.network_add, name="add"),
    path("import/", views.network_import, name="import"),
    path("<int:pk>/", views.network_detail, name="detail"),
    path("<int:pk>/edit/", views.network_edit, name="edit"),
    path("<int:pk>/xml/", views.network_xml_edit, name="xml_edit"),
    path("<int:pk>/xml/download/", views.network_xml_download, name="xml_download"),
    path("<int:pk>/<str:action>/", views.network_action, name="action"),
]
