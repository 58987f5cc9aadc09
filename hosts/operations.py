"""What kvmweb does on a host: scan its SSH key, check it answers, sync its inventory, and the
``host.scan_key`` / ``host.sync`` handlers the Celery workers run. Runs in workers (or the
watcher), never in a request.

Where things live (GUIDE §6): everything here talks to a host, so it is not in services.py.
``sync`` and ``check`` are here although other apps' handlers (vms, networks, hostnet, drift)
and the periodic tasks call them: they are the one way to read a host, and every caller is a
worker. ``SYNC_EXTENSIONS`` is ``sync``'s extension point, so it lives beside it. What callers
need without talking to a host stays in services.py: the read-model writers (``store_*``, also
used by the watcher's re-reads and netlink batches), ``set_status`` (the watcher), and
``configure_virt`` / ``public_key`` (local set-up: nothing is sent to a host).
"""

from django.conf import settings
from django.utils import timezone

from kvmweb import events
from kvmweb.virt import connection, inventory, remote, ssh
from kvmweb.virt.errors import VirtError
from kvmweb.virt.hostnet import list_interfaces
from operations import services as ops

from . import signals
from .models import Host
from .services import configure_virt, set_status, store_inventory

# Other apps add what they read from a host to every sync: func(host), called after the core
# inventory is stored (e.g. vms registers storage pools and guest-agent addresses).
SYNC_EXTENSIONS = []


def libvirt_connection(host):
    """The host's shared libvirt connection (qemu+ssh through the pinned key), for handlers."""
    configure_virt()
    return connection.get_connection(host.target())


def _status_for(error):
    if error.code == VirtError.HOST_KEY_CHANGED:
        return Host.Status.HOST_KEY_CHANGED
    return Host.Status.OFFLINE if error.retryable else Host.Status.ERROR


def scan_key(host):
    """Ask the host's sshd for its key. Returns True when it matches the pinned one."""
    offered = ssh.scan_host_key(host.address, host.target().port,
                                timeout=min(settings.KVMWEB_CONNECT_TIMEOUT, 10))
    fp = ssh.fingerprint(offered)
    Host.objects.filter(pk=host.pk).update(offered_host_key=offered, offered_fingerprint=fp)
    host.offered_host_key, host.offered_fingerprint = offered, fp
    if not host.host_key:
        set_status(host, Host.Status.KEY_OFFERED,
                   f"the host offers SSH key {fp}: compare it with `ssh-keygen -lf "
                   "/etc/ssh/ssh_host_ed25519_key.pub` on the host, then pin it")
        return False
    if offered.split()[:2] != host.host_key.split()[:2]:
        set_status(host, Host.Status.HOST_KEY_CHANGED,
                   f"the host now offers SSH key {fp}, not the pinned {host.host_key_fingerprint}; "
                   "nothing connects until an admin re-pins the key")
        return False
    return True


def check(host):
    """Prove the host answers over a fresh connection; record versions and status.

    Raises VirtError after recording the status when it does not."""
    configure_virt()
    try:
        if not host.is_local and not scan_key(host):
            raise VirtError(host.status_reason, VirtError.HOST_KEY_CHANGED
                            if host.status == Host.Status.HOST_KEY_CHANGED
                            else VirtError.HOST_KEY_UNKNOWN, retryable=False)
        conn = connection.open_connection(host.target(), keepalive=None)
        try:
            facts = inventory.host_facts(conn)
        finally:
            conn.close()
    except VirtError as exc:
        if exc.code not in (VirtError.HOST_KEY_CHANGED, VirtError.HOST_KEY_UNKNOWN):
            set_status(host, _status_for(exc), str(exc))
        elif exc.code == VirtError.HOST_KEY_CHANGED and host.status != Host.Status.HOST_KEY_CHANGED:
            set_status(host, Host.Status.HOST_KEY_CHANGED, str(exc))
        connection.drop(host.target())
        remote.forget(host.target())
        raise
    # Facts a sync extension keeps in capabilities (reachability's ip_forward) survive a check.
    stored = Host.objects.filter(pk=host.pk).values_list("capabilities", flat=True).first() or {}
    if "ip_forward" in stored:
        facts["capabilities"] = {**facts["capabilities"], "ip_forward": stored["ip_forward"]}
    Host.objects.filter(pk=host.pk).update(**facts)
    for key, value in facts.items():
        setattr(host, key, value)
    set_status(host, Host.Status.ONLINE)
    return facts


def sync(host, op=None):
    """Pull networks, leases, domains with NICs and counters, and host interfaces."""
    def say(message, progress):
        if op is not None:
            ops.report(op, message, progress=progress)

    say("connecting", 10)
    check(host)
    target = host.target()
    say(f"connected: libvirt {host.libvirt_version}, reading networks and domains", 30)
    read_at = timezone.now()  # before reading: a re-read stored meanwhile is newer
    try:
        data = inventory.collect(connection.get_connection(target))
    except VirtError:
        connection.drop(target)
        raise
    say(f"read {len(data['networks'])} networks and {len(data['domains'])} domains; "
        "reading host interfaces (netlink)", 60)
    try:
        interfaces = remote.run(target, list_interfaces)
    except VirtError as exc:
        # The libvirt side is still worth storing; say what is missing and why.
        say(f"could not read host interfaces: {exc}", 70)
        interfaces = None
    store_inventory(host, data, interfaces, read_at)
    for extension in SYNC_EXTENSIONS:
        try:
            extension(host)
        except VirtError as exc:
            say(f"{extension.__name__} failed: {exc}", 85)
    say(f"stored; {len(interfaces or [])} host interfaces", 90)
    signals.definitions_were_read(host.pk, "sync")  # drift first: pages then show it
    events.host_inventory(host)
    signals.announce(host.pk, "sync")
    return data


@ops.handler("host.scan_key", resumable=True, retry=False)
def scan_key_operation(op):
    host = op.host
    configure_virt()
    try:
        matches = scan_key(host)
    except VirtError as exc:
        set_status(host, _status_for(exc), str(exc))
        raise
    if host.status == Host.Status.HOST_KEY_CHANGED:
        raise VirtError(host.status_reason, VirtError.HOST_KEY_CHANGED)
    ops.report(op, f"host offers SSH key {host.offered_fingerprint}"
               + (" (matches the pinned key)" if matches else "; waiting for an admin to pin it"),
               progress=100)


@ops.handler("host.sync", resumable=True, plumbing=True, retry=False)
def sync_operation(op):
    sync(op.host, op)
