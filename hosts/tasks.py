"""Periodic host checks and syncs (Celery beat). Not operations: they change nothing on hosts."""

import logging

from celery import shared_task
from django.conf import settings

from kvmweb.virt.errors import VirtError
from operations import locks

from . import operations
from .models import Host

log = logging.getLogger(__name__)



def check_key(pk):
    return f"kvmweb:check-pending:host{pk}"


# Background tasks run on their own queue and worker pool (kvmweb.celery.route_task), so a slow
# or dead host's checks and syncs never hold a slot that users' operations need.

@shared_task(background=True)
def check_host(pk):
    try:
        host = Host.objects.filter(pk=pk).first()
        if host is None:
            return
        try:
            operations.check(host)
        except VirtError as exc:
            log.info("host %s: %s", host, exc)
    finally:
        locks.client().delete(check_key(pk))


def pending_key(pk):
    return f"kvmweb:sync-pending:host{pk}"


def request_background_sync(pk):
    """Ask for one sync of the host soon; requests made before it starts share it."""
    if locks.client().set(pending_key(pk), "1", nx=True, ex=60):
        sync_host.apply_async((pk,), countdown=0.3)


@shared_task(background=True)
def sync_host(pk):
    # Cleared first: an event that arrives while we read asks for another sync.
    locks.client().delete(pending_key(pk))
    host = Host.objects.filter(pk=pk).first()
    if host is None or not host.may_connect:
        return
    try:
        # A sync already running reads what this one would; waiting long for it would only
        # hold a background slot behind a slow host. PLUMBING: never read a host half way
        # through a network change (a stale read stored after the change would undo its refresh).
        with locks.held(pk, ["inventory", locks.PLUMBING], wait=30):
            operations.sync(host)
    except (VirtError, TimeoutError) as exc:
        log.info("host %s: %s", host, exc)


@shared_task(background=True)
def check_all_hosts():
    # One task per host, so a dead host's timeout delays nobody else; none while the host's
    # previous check is still queued or running, so a host that hangs holds one slot at most.
    for host in Host.connectable():
        if locks.client().set(check_key(host.pk), "1", nx=True,
                              ex=max(60, 3 * settings.KVMWEB_CONNECT_TIMEOUT)):
            check_host.delay(host.pk)


@shared_task(background=True)
def sync_all_hosts():
    for host in Host.connectable():
        request_background_sync(host.pk)
