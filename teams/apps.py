from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "teams"

    def ready(self):
        from . import signals  # noqa: F401 - login throttling and audit of team changes
