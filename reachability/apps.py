from django.apps import AppConfig


class ReachabilityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reachability"
    verbose_name = "Reachability"

    def ready(self):
        from hosts.operations import SYNC_EXTENSIONS

        from . import operations  # registers the probe handler

        SYNC_EXTENSIONS.append(operations.read_ip_forwarding)
