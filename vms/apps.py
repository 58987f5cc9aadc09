from django.apps import AppConfig


class VmsConfig(AppConfig):
    name = "vms"
    verbose_name = "virtual machines"

    def ready(self):
        from . import handlers  # noqa: F401 - registers the VM and NIC operation handlers
