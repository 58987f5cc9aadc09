from django.apps import AppConfig


class VmsConfig(AppConfig):
    name = "vms"
    verbose_name = "virtual machines"

    def ready(self):
        from hosts.operations import SYNC_EXTENSIONS

        from . import operations  # registers the VM and NIC operation handlers

        SYNC_EXTENSIONS.append(operations.sync_vm_side)

        from hosts.live import ADDRESS_SEARCHES, NEIGHBOUR_HANDLERS

        from .addresses import search_moved, store_neighbours

        NEIGHBOUR_HANDLERS.append(store_neighbours)
        ADDRESS_SEARCHES.append(search_moved)
