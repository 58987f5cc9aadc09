"""Creating operations and reporting their progress. Handlers live next to their app's models
and are registered by action name; the one Celery task looks them up."""

import logging

from django.db import transaction
from django.utils import timezone

from kvmweb import events

from .models import Operation

log = logging.getLogger(__name__)
HANDLERS = {}


def handler(action):
    """Register ``func(op)`` as the service function that carries out ``action``."""
    def register(func):
        HANDLERS[action] = func
        return func
    return register


def start(user, host, action, target="", params=None, team=None, name=""):
    """Create the Operation in the caller's transaction and enqueue it once that commits.
    ``team``: the team it acts for (it will own what the operation creates). ``target`` is the
    lock key (e.g. domain:<uuid>); ``name`` what the user calls it (the VM's name), shown in
    lists; defaults to ``params["name"]`` when there is one."""
    from .tasks import run_operation

    if action not in HANDLERS:
        raise ValueError(f"no handler for action {action!r}")
    op = Operation.objects.create(
        user=user if user and user.is_authenticated else None,
        host=host, host_name=host.name if host else "", team=team, action=action,
        target=target, params=params or {},
        target_name=name or str((params or {}).get("name") or ""),
    )
    transaction.on_commit(lambda: run_operation.delay(op.pk))
    return op


def report(op, message=None, progress=None, **fields):
    """Append to the log and/or set progress and fields; save and push the update."""
    if message:
        stamp = timezone.now().strftime("%H:%M:%S")
        op.log += f"{stamp} {message}\n"
        log.info("operation %s: %s", op.pk, message)
    if progress is not None:
        op.progress = max(0, min(100, int(progress)))
    for name, value in fields.items():
        setattr(op, name, value)
    op.save()
    events.operation_update(op)
