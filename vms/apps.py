from django.apps import AppConfig


class VmsConfig(AppConfig):
    name = "vms"
    verbose_name = "virtual machines"

    def ready(self):
        from hosts.services import SYNC_EXTENSIONS

        from . import handlers  # registers the VM and NIC operation handlers

        SYNC_EXTENSIONS.append(handlers.sync_vm_side)
