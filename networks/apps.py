from django.apps import AppConfig


class NetworksConfig(AppConfig):
    name = "networks"

    def ready(self):
        from hosts.services import SYNC_EXTENSIONS

        from . import services  # registers the operation handlers

        SYNC_EXTENSIONS.append(services.read_firewalls)
