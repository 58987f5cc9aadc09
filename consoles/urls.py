from django.urls import path

from . import views

app_name = "consoles"
urlpatterns = [
    path("vm/<int:pk>/<str:kind>/", views.console_page, name="console"),
]
