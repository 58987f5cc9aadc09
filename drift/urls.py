from django.urls import path

from . import views

app_name = "drift"
urlpatterns = [
    path("", views.drift_list, name="list"),
    path("<int:pk>/", views.drift_detail, name="detail"),
    path("<int:pk>/accept/", views.drift_accept, name="accept"),
    path("<int:pk>/reapply/", views.drift_reapply, name="reapply"),
]
