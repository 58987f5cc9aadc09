"""Operations whose worker is gone, and queued operations whose message is gone.

Run by beat every few seconds (operations.tasks.reap_operations). It only reads and writes the
database and enqueues: anything that talks to a host (a resumed run, a clean-up) happens in a
worker.

- A running operation whose heartbeat stopped and whose lock leases expired lost its worker
  (killed, OOM, machine gone). A resumable one goes back to the queue and carries on where the
  host says it is; any other one fails, saying which step it was in and that kvmweb cannot tell
  what that step did.
- A queued operation nobody has stamped for a while lost its message (Redis restarted without
  its data): it is enqueued again. A duplicate delivery is harmless: only one claims it.
"""

import logging
from datetime import timedelta

import redis
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from kvmweb.virt.errors import VirtError

from . import locks
from .models import Operation
from .services import HANDLERS, enqueue, lock_names, report

log = logging.getLogger(__name__)


def owner(op):
    """The lease owner name of an operation's locks (operations.locks.Leases)."""
    return f"op{op.pk}"


def reap(now=None):
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.KVMWEB_HEARTBEAT_STALE)
    running = Operation.objects.filter(status=Operation.Status.RUNNING).filter(
        Q(heartbeat__lt=stale) | Q(heartbeat__isnull=True, started__lt=stale))
    for op in running.select_related("host"):
        take_over(op, now)
    lost = now - timedelta(seconds=settings.KVMWEB_REQUEUE_AFTER)
    queued = Operation.objects.filter(status=Operation.Status.QUEUED).filter(
        Q(heartbeat__lt=lost) | Q(heartbeat__isnull=True, created__lt=lost))
    for op in queued:
        if Operation.objects.filter(pk=op.pk, status=Operation.Status.QUEUED,
                                    heartbeat=op.heartbeat).update(heartbeat=now):
            op.heartbeat = now
            report(op, f"no worker took it for {settings.KVMWEB_REQUEUE_AFTER} s (its message "
                       "was lost, e.g. Redis restarted, or every worker was busy): enqueued again")
            enqueue(op)


def take_over(op, now):
    try:
        if locks.held_by(op.host_id, lock_names(op), owner(op)):
            return  # its worker still renews the leases: alive, just not writing heartbeats
    except redis.exceptions.RedisError:
        return  # cannot tell; try again next round
    spec = HANDLERS.get(op.action)
    last = op.heartbeat or op.started
    gone = (f"the worker running it ({op.worker or 'unknown'}) stopped answering "
            f"(last heartbeat {last:%H:%M:%S})")
    step = _last_step(op)
    if spec is not None and spec.resumable:
        if Operation.objects.filter(pk=op.pk, status=Operation.Status.RUNNING,
                                    heartbeat=op.heartbeat).update(
                status=Operation.Status.QUEUED, heartbeat=now):
            op.refresh_from_db()
            report(op, f"{gone} during \u201c{step}\u201d; resuming on another worker")
            enqueue(op)
        return
    reason = (f"{gone} during \u201c{step}\u201d. This kind of change cannot be resumed and "
              f"kvmweb cannot tell what that step did: check {op.target or op.action} on "
              f"{op.host} and try again")
    if Operation.objects.filter(pk=op.pk, status=Operation.Status.RUNNING,
                                heartbeat=op.heartbeat).update(
            status=Operation.Status.FAILED, error=reason, finished=now):
        op.refresh_from_db()
        report(op, f"failed: {reason}")


def _last_step(op):
    lines = [line for line in op.log.splitlines() if line.strip()]
    return lines[-1].split(" ", 1)[-1] if lines else "starting"


def fail(op, reason):
    """End a run as failed; first let the action remove what this run left half-made."""
    spec = HANDLERS.get(op.action)
    note = ""
    if spec is not None and spec.cleanup is not None:
        try:
            note = spec.cleanup(op) or ""
        except VirtError as exc:
            note = f"could not clean up what this run made: {exc}"
        except Exception as exc:  # noqa: BLE001 - the failure itself must still be recorded
            log.exception("operation %s: clean-up crashed", op.pk)
            note = f"clean-up crashed: {exc}"
    error = f"{reason}. {note}" if note else reason
    report(op, f"failed: {error}", status=Operation.Status.FAILED, error=error,
           finished=timezone.now())
