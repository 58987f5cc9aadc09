"""Hosts: adding, pinning, syncing on request and removing them (in a request: the ``start_*`` /
``request_*`` functions create Operations), and the read-model writers that store what a host
said (``store_*``, ``set_status``), shared by the worker's sync (hosts.operations), the
watcher's re-reads and its netlink batches. Nothing here talks to a host: scanning, checking and
syncing it are in hosts.operations (see its docstring for why ``sync`` lives there).
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kvmweb import events
from kvmweb.virt import connection, ssh
from networks.models import Lease, Network
from operations import services as ops
from vms.models import Domain, DomainInterface

from . import signals
from .models import Host, HostInterface


def configure_virt():
    """Point the virt layer at our state dir and key (idempotent, once per process)."""
    return connection.configure(settings.STATE_DIR / "ssh", settings.KVMWEB_SSH_KEY,
                                settings.KVMWEB_CONNECT_TIMEOUT)


def public_key():
    return ssh.ensure_keypair(settings.KVMWEB_SSH_KEY)


def set_status(host, status, reason=""):
    """Record a status change and push it; only writes when something changed."""
    fields = {"status": status, "status_reason": reason}
    if status == Host.Status.ONLINE:
        fields["last_seen"] = timezone.now()
    changed = any(getattr(host, k) != v for k, v in fields.items() if k != "last_seen")
    for key, value in fields.items():
        setattr(host, key, value)
    Host.objects.filter(pk=host.pk).update(**fields)
    if changed or status == Host.Status.ONLINE:
        events.host_status(host)
    if changed:
        signals.announce(host.pk, "status")  # e.g. the topology draws offline hosts apart


@transaction.atomic
def store_inventory(host, data, interfaces, read_at):
    """Replace the host's read model with what the host said at ``read_at``, in one
    transaction; objects re-read since (the watcher's quick re-reads) keep the newer read."""
    seen_networks = [store_network(host, rec, read_at).pk for rec in data["networks"]]
    host.networks.exclude(pk__in=seen_networks).exclude(read_at__gt=read_at).delete()

    seen_domains = [store_domain(host, rec, read_at).pk for rec in data["domains"]]
    host.domains.exclude(pk__in=seen_domains).exclude(read_at__gt=read_at).delete()

    if interfaces is not None:
        store_interfaces(host, interfaces, counters=True)
    Host.objects.filter(pk=host.pk).update(last_sync=timezone.now())


def _newer_read(model, read_at, **key):
    """The stored row when it comes from a later read of the host than ``read_at``."""
    row = model.objects.select_for_update().filter(**key).first()
    return row if row is not None and row.read_at and row.read_at > read_at else None


@transaction.atomic
def store_network(host, rec, read_at=None):
    """One network and its leases as the host reported them (kvmweb.virt.inventory records)
    at ``read_at`` (default: now, for a record read just before).

    The row is the name's: a network re-created under the same name with a new UUID (virsh
    net-undefine + net-define, a lab restart) updates this row's uuid in place. Everything
    that refers to a network does so by name: a VM's NIC (<source network=…>, which libvirt
    plugs into the new network), HostGrant.networks, operation targets and their locks; the
    team keeps it (its VMs are plugged into it by name, and only root on the host can
    re-create it). The drift app tells the re-creation by the UUID (drift.services)."""
    read_at = read_at or timezone.now()
    newer = _newer_read(Network, read_at, host=host, name=rec["name"])
    if newer is not None:
        return newer
    net, _ = Network.objects.update_or_create(
        host=host, name=rec["name"],
        defaults={**{k: rec[k] for k in ("uuid", "xml", "active", "autostart", "persistent",
                                         "bridge", "kind", "subnets", "dhcp")},
                  "read_at": read_at},
    )
    Lease.replace_for(net, rec["leases"])
    return net


@transaction.atomic
def store_domain(host, rec, read_at=None):
    """One domain and its NICs as the host reported them (kvmweb.virt.inventory records) at
    ``read_at`` (default: now), in one transaction (readers never see it without its NICs).

    The row is the UUID's (operation targets, probes and consoles name VMs by UUID): a VM
    re-defined under the same name with a new UUID is a new row, without the old one's team;
    the old row goes with the read that finds its UUID gone (store_inventory, reread)."""
    read_at = read_at or timezone.now()
    newer = _newer_read(Domain, read_at, host=host, uuid=rec["uuid"])
    if newer is not None:
        return newer
    dom, _ = Domain.objects.update_or_create(
        host=host, uuid=rec["uuid"],
        defaults={**{k: rec[k] for k in ("name", "state", "vcpus", "memory_kib", "persistent",
                                         "autostart", "xml")},
                  "read_at": read_at},
    )
    # NIC rows are re-created on every read; when a MAC is still there, it keeps when it last
    # moved, or moved now if its network / bridge / device changed (vms.addresses relies on it).
    before = {mac: (kind, source, moved_at) for mac, kind, source, moved_at in
              dom.nics.values_list("mac", "type", "source", "moved_at")}
    dom.nics.all().delete()
    DomainInterface.objects.bulk_create(
        DomainInterface(domain=dom, **nic, moved_at=_moved_at(before.get(nic["mac"]), nic, read_at))
        for nic in rec["nics"])
    return dom


def _moved_at(before, nic, read_at):
    if before is None:
        return None
    kind, source, moved_at = before
    return moved_at if (kind, source) == (nic["type"], nic["source"]) else read_at


_IFACE_FIELDS = ("index", "kind", "state", "up", "carrier", "mac", "mtu", "master", "parent",
                 "link_netnsid", "addresses", "stats")
_COUNTERS = {"rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_errors", "tx_errors",
             "rx_dropped", "tx_dropped"}


def _without_counters(values):
    return {**values, "stats": {k: v for k, v in values["stats"].items() if k not in _COUNTERS}}


@transaction.atomic
def store_interfaces(host, records, counters=False):
    """Make the host's HostInterface rows equal ``records`` (kvmweb.virt.hostnet.list_interfaces).

    Returns (changed rows, removed names): rows whose state, addresses, master… differ. Counter
    changes alone are written only with ``counters`` (a sync) and never count as a change, so
    the watcher's netlink batches write and push only what really changed."""
    existing = {row.name: row for row in host.interfaces.all()}
    changed = []
    for rec in records:
        values = {k: rec.get(k) if k == "link_netnsid" else rec[k] for k in _IFACE_FIELDS}
        row = existing.pop(rec["name"], None)
        if row is None:
            changed.append(HostInterface.objects.create(host=host, name=rec["name"], **values))
            continue
        old = {k: getattr(row, k) for k in _IFACE_FIELDS}
        differs = _without_counters(old) != _without_counters(values)
        if differs or (counters and old != values):
            for key, value in values.items():
                setattr(row, key, value)
            row.save(update_fields=list(_IFACE_FIELDS))
        if differs:
            changed.append(row)
    removed = sorted(existing)
    host.interfaces.filter(name__in=removed).delete()
    return changed, removed


def pin_key(host, user, fingerprint):
    """An admin confirms the offered key (by its fingerprint); then connect and sync."""
    if not host.offered_host_key:
        raise ValueError("the host has not offered a key yet; scan it first")
    if fingerprint != host.offered_fingerprint:
        raise ValueError("the fingerprint does not match the key the host offered; scan again")
    host.host_key = host.offered_host_key
    host.host_key_fingerprint = host.offered_fingerprint
    host.status = Host.Status.CONNECTING
    host.status_reason = f"key {host.host_key_fingerprint} pinned by {user}"
    host.save(update_fields=["host_key", "host_key_fingerprint", "status", "status_reason"])
    transaction.on_commit(lambda: events.host_status(host))
    return ops.start(user, host, "host.sync", target="inventory")


def add_host(user, host):
    """Save a new host and start what comes next: scan its key, or sync the local host."""
    host.save()
    if host.is_local:
        host.status = Host.Status.CONNECTING
        host.save(update_fields=["status"])
        return ops.start(user, host, "host.sync", target="inventory")
    return start_scan(user, host)


def request_sync(user, host):
    if host.needs_pin:
        raise ValueError("pin the host's SSH key before syncing it")
    return ops.start(user, host, "host.sync", target="inventory")


@transaction.atomic
def remove_host(user, host):
    """Forget a host (nothing changes on it). Its operations stay, with its name, as the audit
    log; the removal itself is an audit entry."""
    from teams.services import record

    record(user, "host.remove", target=f"host:{host.name}", host_name=host.name,
           before={"uri": host.uri, "fingerprint": host.host_key_fingerprint})
    host.delete()


def start_scan(user, host):
    return ops.start(user, host, "host.scan_key", target="ssh-key")
