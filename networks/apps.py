from django.apps import AppConfig


class NetworksConfig(AppConfig):
    name = "networks"

    def ready(self):
        from hosts.operations import SYNC_EXTENSIONS

        from . import operations  # registers the operation handlers

        SYNC_EXTENSIONS.append(operations.read_firewalls)
