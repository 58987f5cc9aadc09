from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "operations"

    def ready(self):
        # Bind @shared_task to kvmweb's Celery app in every process (web, worker, watcher).
        import kvmweb.celery  # noqa: F401
