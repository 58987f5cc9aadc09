from django.apps import AppConfig


class HostnetConfig(AppConfig):
    name = "hostnet"
    verbose_name = "host networking"

    def ready(self):
        from . import operations  # noqa: F401 - registers the operation handlers
