from django.urls import path

from . import views

app_name = "operations"
urlpatterns = [path("<int:pk>/", views.operation_detail, name="detail")]
