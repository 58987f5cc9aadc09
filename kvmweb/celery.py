import os

from celery import Celery

from . import heartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kvmweb.settings")

app = Celery("kvmweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Workers say they are alive (and their task counts) in Redis: kvmweb.heartbeat, /readyz.
heartbeat.install_worker_heartbeat(app)


def background_queue():
    """Health checks and syncs (tasks declared with ``background=True``) go to their own queue,
    served by their own worker pool: a slow or dead host then delays only background work, never
    users' operations on the default queue."""
    return f"{app.conf.task_default_queue}.background"


def route_task(name, args, kwargs, options, task=None, **kw):
    if task is not None and getattr(task, "background", False):
        return {"queue": background_queue()}
    return None


app.conf.task_routes = (route_task,)
