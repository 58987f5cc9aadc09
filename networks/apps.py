from django.apps import AppConfig


class NetworksConfig(AppConfig):
    name = "networks"

    def ready(self):
        from . import services  # noqa: F401 - registers the operation handlers
