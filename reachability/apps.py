from django.apps import AppConfig


class ReachabilityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reachability"
    verbose_name = "Reachability"
