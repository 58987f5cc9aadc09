from django.apps import AppConfig


class HostsConfig(AppConfig):
    name = "hosts"

    def ready(self):
        from . import operations  # noqa: F401 - registers the operation handlers
