"""Periodic host checks and syncs (Celery beat). Not operations: they change nothing on hosts."""

import logging

from celery import shared_task

from kvmweb.virt.errors import VirtError
from operations import locks

from . import services
from .models import Host

log = logging.getLogger(__name__)



@shared_task
def check_host(pk):
    host = Host.objects.filter(pk=pk).first()
    if host is None:
        return
    try:
        services.check(host)
    except VirtError as exc:
        log.info("host %s: %s", host, exc)


def pending_key(pk):
    return f"kvmweb:sync-pending:host{pk}"


def request_background_sync(pk):
    """Ask for one sync of the host soon; requests made before it starts share it."""
    if locks.client().set(pending_key(pk), "1", nx=True, ex=60):
        sync_host.apply_async((pk,), countdown=0.3)


@shared_task
def sync_host(pk):
    # Cleared first: an event that arrives while we read asks for another sync.
    locks.client().delete(pending_key(pk))
    host = Host.objects.filter(pk=pk).first()
    if host is None or not host.may_connect:
        return
    with locks.object_lock(pk, "inventory", timeout=600):
        try:
            services.sync(host)
        except VirtError as exc:
            log.info("host %s: %s", host, exc)


@shared_task
def check_all_hosts():
    # One task per host, so a dead host's timeout delays nobody else.
    for host in Host.connectable():
        check_host.delay(host.pk)


@shared_task
def sync_all_hosts():
    for host in Host.connectable():
        sync_host.delay(host.pk)
