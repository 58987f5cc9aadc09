import logging
import os
import socket

import redis
from celery import shared_task
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from kvmweb.virt import connection as virt_connection
from kvmweb.virt import remote
from kvmweb.virt.errors import VirtError

from . import reaper
from .locks import Leases
from .models import Operation
from .services import HANDLERS, enqueue, lock_names, report

log = logging.getLogger(__name__)
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
# A connection that broke or stopped answering mid-way: worth resuming. A host that refuses or
# does not exist is down, and is said so at once.
INTERRUPTED = {VirtError.REMOTE, VirtError.TIMEOUT, VirtError.LIBVIRT_DOWN}


@shared_task(bind=True, acks_late=True, max_retries=None)
def run_operation(self, op_pk):
    """Carry out one queued Operation. Safe to deliver twice: only one delivery claims it, a
    running one belongs to its worker (or, once that is gone, to the reaper), a finished one is
    left alone."""
    op = Operation.objects.filter(pk=op_pk).select_related("host").first()
    if op is None or op.status != Operation.Status.QUEUED:
        return
    leases = Leases(op.host_id, lock_names(op), owner=reaper.owner(op))
    try:
        got = leases.acquire()
    except redis.exceptions.RedisError:
        raise self.retry(countdown=2)
    if not got:
        # Another change holds one of our locks: wait our turn. The stamp tells the reaper
        # this operation is still wanted by a live message.
        Operation.objects.filter(pk=op.pk, status=Operation.Status.QUEUED).update(
            heartbeat=timezone.now())
        raise self.retry(countdown=1)
    try:
        claimed = Operation.objects.filter(pk=op.pk, status=Operation.Status.QUEUED).update(
            status=Operation.Status.RUNNING, worker=f"{WORKER_ID}:{self.request.hostname}",
            heartbeat=timezone.now(), attempts=F("attempts") + 1,
            started=Coalesce(F("started"), timezone.now()))
        if not claimed:
            return
        op.refresh_from_db()
        keeper = leases.keep_alive(beat=lambda: _beat(op.pk))
        try:
            _execute(op)
        finally:
            keeper.stop()
    finally:
        leases.release()


def _beat(op_pk):
    Operation.objects.filter(pk=op_pk, status=Operation.Status.RUNNING).update(
        heartbeat=timezone.now())
    connection.close()  # this thread's own connection; the keep-alive thread ends with the run


def _execute(op):
    spec = HANDLERS[op.action]
    if op.attempts > settings.KVMWEB_RESUME_ATTEMPTS:
        reaper.fail(op, f"gave up after {op.attempts - 1} interrupted attempts")
        return
    again = f" (attempt {op.attempts}: resuming; each step checks the host first)" \
        if op.attempts > 1 else ""
    report(op, f"started {op.action} {op.target}".strip() + again, progress=max(op.progress, 1))
    try:
        spec.func(op)
    except VirtError as exc:
        if (spec.retry and exc.code in INTERRUPTED
                and op.attempts < settings.KVMWEB_RESUME_ATTEMPTS):
            if op.host is not None:  # resume on a fresh connection
                virt_connection.drop(op.host.target())
                remote.forget(op.host.target())
            delay = 2 ** op.attempts
            report(op, f"interrupted: {exc}; resuming in {delay} s",
                   status=Operation.Status.QUEUED, heartbeat=timezone.now())
            enqueue(op, countdown=delay)
            return
        reaper.fail(op, str(exc))
        return
    except Exception as exc:  # noqa: BLE001 - recorded on the operation, then re-raised
        log.exception("operation %s crashed", op.pk)
        reaper.fail(op, f"internal error: {exc}")
        raise
    if not op.is_finished:
        report(op, "done", progress=100, status=Operation.Status.SUCCEEDED,
               finished=timezone.now())


@shared_task(expires=10)
def reap_operations():
    """Beat, every few seconds: hand over operations whose worker is gone, re-enqueue lost
    messages (operations.reaper)."""
    reaper.reap()
