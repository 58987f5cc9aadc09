"""Creating operations and reporting their progress. Handlers live next to their app's models
and are registered by action name; the one Celery task looks them up."""

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from django.db import transaction
from django.utils import timezone

from kvmweb import events
from kvmweb.conflicts import refuse_edit

from . import locks
from .models import Operation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Handler:
    """How a worker carries out one action.

    ``resumable``: running it again after a crash is safe, because every step first checks on
    the host whether it is already done; a dead worker's run is then resumed, not failed.
    ``plumbing``: it changes the host's network plumbing (libvirt networks, VM NICs, bridges)
    and so runs alone among such changes on its host (operations.locks.PLUMBING).
    ``cleanup``: ``func(op)`` that removes what a failed run left half-made; returns a
    sentence saying what it removed (or what it could not).
    ``retry``: a resumable change whose connection broke mid-way (libvirtd restarted, the path
    cut for a moment) is resumed a few times before it fails; reads just fail (ask again).
    ``edits``: it overwrites its target's definition on the host (network edit or delete, NIC
    changes, VM delete), so it is refused while the target has drifted (kvmweb.conflicts)."""

    func: Callable
    resumable: bool = False
    plumbing: bool = False
    cleanup: Callable | None = None
    retry: bool = True
    edits: bool = False


HANDLERS: dict[str, Handler] = {}


def handler(action, resumable=False, plumbing=False, cleanup=None, retry=True, edits=False):
    """Register ``func(op)`` as the service function that carries out ``action``."""
    def register(func):
        HANDLERS[action] = Handler(func, resumable, plumbing, cleanup, retry and resumable, edits)
        return func
    return register


def lock_names(op):
    """The per-host locks an operation holds while it runs (operations.locks)."""
    names = {op.target or op.action}
    spec = HANDLERS.get(op.action)
    if spec is not None and spec.plumbing:
        names.add(locks.PLUMBING)
    return sorted(names)


def start(user, host, action, target="", params=None, team=None, name="", guard=True):
    """Create the Operation in the caller's transaction and enqueue it once that commits.
    ``team``: the team it acts for (it will own what the operation creates). ``target`` is the
    lock key (e.g. domain:<uuid>); ``name`` what the user calls it (the VM's name), shown in
    lists; defaults to ``params["name"]`` when there is one. An edit of a drifted object is
    refused (kvmweb.conflicts.Conflict, 409) unless ``guard`` is off: only the drift's own
    re-apply turns it off."""
    if action not in HANDLERS:
        raise ValueError(f"no handler for action {action!r}")
    if guard and HANDLERS[action].edits and host is not None:
        refuse_edit(host.pk, target)
    op = Operation.objects.create(
        user=user if user and user.is_authenticated else None,
        host=host, host_name=host.name if host else "", team=team, action=action,
        target=target, params=params or {}, heartbeat=timezone.now(),
        target_name=name or str((params or {}).get("name") or ""),
    )
    transaction.on_commit(lambda: enqueue(op))
    return op


def enqueue(op, countdown=None):
    """Hand the operation to the workers. When the queue (Redis) does not take it, the
    operation fails at once saying so: the user retries knowingly, rather than the change
    happening by surprise whenever Redis comes back (or never, "queued" forever)."""
    from .tasks import run_operation

    try:
        run_operation.apply_async((op.pk,), countdown=countdown, retry=True,
                                  retry_policy={"max_retries": 2, "interval_start": 0.2,
                                                "interval_step": 0.5, "interval_max": 1})
    except Exception as exc:  # noqa: BLE001 - kombu/redis raise many types; all mean "not queued"
        log.warning("operation %s: could not enqueue: %s", op.pk, exc)
        failed = Operation.objects.filter(pk=op.pk, status=Operation.Status.QUEUED).update(
            status=Operation.Status.FAILED, finished=timezone.now(),
            error=f"not started: the task queue did not accept it ({exc}). Nothing was "
                  "changed on the host; try again once the queue (Redis) is back.")
        if failed:
            op.refresh_from_db()
            report(op, f"failed: {op.error}")
        return False
    return True


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


# -- fault injection for the fault suite (tests/operations/test_faults_lab.py) ----------------
#
# KVMWEB_FAULT_POINTS="network.create:defined@network:t1,vm.create:volume" makes a worker stop
# at those named steps (of operations on that target, when one is given after "@"): it writes
# <KVMWEB_FAULT_DIR>/op<pk>-<point>.paused and waits (its heartbeat going on) until
# op<pk>-<point>.go appears. The test injects its fault meanwhile (kills the worker, restarts
# Redis or libvirtd, drops sshd). Unset (the default), checkpoint() does nothing; the real
# operation runs either way.

def checkpoint(op, point):
    """A named step boundary where the fault suite may pause this operation."""
    wanted = os.environ.get("KVMWEB_FAULT_POINTS")
    if not wanted:
        return
    here = f"{op.action}:{point}"
    if here not in wanted.split(",") and f"{here}@{op.target}" not in wanted.split(","):
        return
    where = Path(os.environ.get("KVMWEB_FAULT_DIR", "/tmp"))
    stem = where / f"op{op.pk}-{point}"
    stem.with_name(stem.name + ".paused").touch()
    log.warning("operation %s paused at %s:%s (KVMWEB_FAULT_POINTS)", op.pk, op.action, point)
    go = stem.with_name(stem.name + ".go")
    while not go.exists():
        time.sleep(0.1)
