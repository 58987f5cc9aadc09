import logging

import redis
from celery import shared_task
from django.utils import timezone

from kvmweb.virt.errors import VirtError

from .locks import object_lock
from .models import Operation
from .services import HANDLERS, report

log = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=None)
def run_operation(self, op_pk):
    """Carry out one Operation. Safe to run twice: a finished operation is left alone."""
    op = Operation.objects.filter(pk=op_pk).select_related("host").first()
    if op is None or op.is_finished:
        return
    lock = object_lock(op.host_id, op.lock_name)
    if not lock.acquire(blocking=False):
        # Another change to the same object is running: wait our turn, in order.
        raise self.retry(countdown=1)
    try:
        report(op, f"started {op.action} {op.target}".strip(), progress=max(op.progress, 1),
               status=Operation.Status.RUNNING, started=op.started or timezone.now())
        try:
            HANDLERS[op.action](op)
        except VirtError as exc:
            report(op, f"failed: {exc}", status=Operation.Status.FAILED, error=str(exc),
                   finished=timezone.now())
            return
        except Exception as exc:  # noqa: BLE001 - recorded on the operation, then re-raised
            log.exception("operation %s crashed", op.pk)
            report(op, f"failed: internal error: {exc}", status=Operation.Status.FAILED,
                   error=f"internal error: {exc}", finished=timezone.now())
            raise
        if not op.is_finished:
            report(op, "done", progress=100, status=Operation.Status.SUCCEEDED,
                   finished=timezone.now())
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            pass
