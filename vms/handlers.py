"""Operation handlers for VMs and their NICs: they run in the Celery worker and talk to hosts
through kvmweb.virt.domains. Every change records the domain XML before and after, then
refreshes the read model."""

import logging
import uuid

from django.db import transaction

from hosts import services as host_services
from hosts import signals
from kvmweb import events
from kvmweb.virt import connection, domains, inventory
from kvmweb.virt.errors import VirtError
from kvmweb.virt.xml import Domain as DomainXML
from operations import services as ops

from . import builder
from .models import Domain, GuestAddress, StoragePool, Volume

log = logging.getLogger(__name__)
UNPLUG_TIMEOUT = 20


def _conn(host):
    host_services.configure_virt()
    return connection.get_connection(host.target())


def _dom(op):
    return domains.lookup(_conn(op.host), op.params["uuid"])


# --------------------------------------------------------------------------- read model

@transaction.atomic
def _store_vm_side(host, pools, addresses):
    seen = []
    for rec in pools:
        pool, _ = StoragePool.objects.update_or_create(
            host=host, name=rec["name"],
            defaults={k: rec[k] for k in ("uuid", "type", "path", "active", "capacity",
                                          "allocation", "available")})
        seen.append(pool.pk)
        pool.volumes.all().delete()
        Volume.objects.bulk_create(Volume(pool=pool, **vol) for vol in rec["volumes"])
    host.pools.exclude(pk__in=seen).delete()
    GuestAddress.objects.filter(host=host).delete()
    GuestAddress.objects.bulk_create(GuestAddress(host=host, **a) for a in addresses)


def sync_vm_side(host):
    """What the host sync does not read: storage pools and volumes, and guest addresses from
    the guest agent or the host's ARP table (DHCP leases come with the host sync)."""
    conn = _conn(host)
    pools = domains.list_pools(conn)
    addresses = []
    for dom_row in Domain.objects.filter(host=host, state="running"):
        try:
            dom = domains.lookup(conn, dom_row.uuid)
        except VirtError:
            continue
        for source in ("agent", "arp"):
            for row in domains.interface_addresses(dom, source):
                addresses.append({**row, "source": source})
    _store_vm_side(host, pools, addresses)


def refresh(op):
    ops.report(op, "refreshing kvmweb's view of the host", progress=90)
    try:
        host_services.sync(op.host)  # includes sync_vm_side (a SYNC_EXTENSION)
    except VirtError as exc:
        ops.report(op, f"the change was made, but reading the host back failed: {exc}")


@ops.handler("vm.refresh", resumable=True, plumbing=True, retry=False)
def refresh_operation(op):
    refresh(op)


def _record(op, before, dom, message, progress=80):
    # A resumed run keeps the first attempt's "before": the host may be half changed by now.
    ops.report(op, message, progress=progress, xml_before=op.xml_before or before,
               xml_after=domains.xml(dom, inactive=not domains.is_active(dom)))


# --------------------------------------------------------------------------- lifecycle

def _lifecycle(op, verb, call, wanted=None, timeout=0, fail_hint=""):
    dom = _dom(op)
    before = domains.xml(dom)
    ops.report(op, f"{verb} {op.params['name']} (was {domains.state(dom)})", progress=20)
    call(dom)
    if wanted:
        reached = domains.wait_state(dom, wanted, timeout)
        if reached not in wanted:
            raise VirtError(f"{op.params['name']} is still {reached} after {timeout} s. "
                            f"{fail_hint}", VirtError.LIBVIRT, retryable=False)
    _record(op, before, dom, f"{op.params['name']} is now {domains.state(dom)}")
    refresh(op)


@ops.handler("vm.start")
def start(op):
    _lifecycle(op, "starting", domains.start, {"running"}, 30)


@ops.handler("vm.shutdown")
def shutdown(op):
    _lifecycle(op, "sending the ACPI power button to", domains.shutdown, {"shut off"},
               int(op.params.get("timeout", 120)),
               "The guest ignored the ACPI shutdown request (no ACPI daemon, or it is busy); "
               "use Force off to pull the plug.")


@ops.handler("vm.reboot")
def reboot(op):
    _lifecycle(op, "sending an ACPI reboot request to", domains.reboot)
    ops.report(op, "a guest without ACPI support ignores the request; Force off + Start then")


@ops.handler("vm.destroy")
def destroy(op):
    _lifecycle(op, "forcing off (pulling the plug of)", domains.destroy, {"shut off"}, 30)


@ops.handler("vm.suspend")
def suspend(op):
    _lifecycle(op, "pausing", domains.suspend, {"paused"}, 30)


@ops.handler("vm.resume")
def resume(op):
    _lifecycle(op, "resuming", domains.resume, {"running"}, 30)


def disk_paths(xml_text):
    """(path, is_cdrom) of every file/block disk of a domain."""
    paths = []
    for disk in DomainXML.from_xml(xml_text).disks:
        path = disk.source_file or disk.source_dev
        if path:
            paths.append((path, disk.device == "cdrom"))
    return paths


def displays(xml_text):
    """The graphical displays of a domain as the page shows them (never a password)."""
    return [{"type": g.type, "address": g.address, "port": g.port,
             "everywhere": g.listens_everywhere} for g in DomainXML.from_xml(xml_text).graphics]


@ops.handler("vm.delete", edits=True)
def delete(op):
    conn = _conn(op.host)
    dom = domains.lookup(conn, op.params["uuid"])
    before = domains.xml(dom, inactive=True)
    if domains.is_active(dom):
        ops.report(op, f"{op.params['name']} is running: forcing it off first", progress=10)
        domains.destroy(dom)
    disks = disk_paths(before)
    domains.undefine(dom)
    ops.report(op, f"undefined {op.params['name']}", progress=50, xml_before=before, xml_after="")
    if op.params.get("remove_disks"):
        for path, is_cdrom in disks:
            if is_cdrom:
                ops.report(op, f"kept {path}: it is a CD-ROM image, not the VM's own disk")
            elif domains.delete_volume(conn, path):
                ops.report(op, f"deleted volume {path}")
            else:
                ops.report(op, f"left {path} in place: no storage pool on the host holds it")
    elif disks:
        ops.report(op, "kept the disks: " + ", ".join(p for p, _ in disks))
    refresh(op)


# --------------------------------------------------------------------------- create

def _start_new(op, conn, dom, spec, domain_type):
    try:
        domains.start(dom)
        return dom
    except VirtError as exc:
        if exc.retryable:
            raise  # the host stopped answering: resumed (or cleaned up) by operations
        if not (spec.get("domain_type", "auto") == "auto" and domain_type == "kvm"
                and "kvm" in str(exc).lower()):
            raise VirtError(f"{spec['name']} is defined but did not start: {exc}",
                            retryable=False) from exc
        ops.report(op, f"KVM is offered but not usable on this host ({exc}); "
                       "switching the VM to domain type qemu (TCG, slower)", progress=70)
    doc = DomainXML.from_xml(domains.xml(dom, inactive=True))
    doc.type = "qemu"
    dom = domains.define(conn, doc.to_xml())
    domains.start(dom)
    return dom


@ops.handler("vm.create", resumable=True, cleanup=lambda op: _remove_own_vm(op))
def create(op):
    """New volume, define, start. Each step looks at the host first, so a run resumed after its
    worker died carries on where the host is; what it made is marked on the operation before it
    is made, so a failed run removes exactly that (its own volume and definition) again."""
    spec = op.params["spec"]
    host = op.host
    conn = _conn(host)
    dom = domains.lookup_name(conn, spec["name"])
    mine = op.params.get("made_domain") and dom is not None \
        and domains.uuid_of(dom) == spec.get("uuid")
    if dom is not None and not mine:
        raise VirtError(f"a VM named '{spec['name']}' already exists on {host}", retryable=False)
    if not spec.get("uuid"):
        spec = {**spec, "uuid": str(uuid.uuid4())}
        ops.report(op, None, params={**op.params, "spec": spec})
    wanted = spec.get("domain_type") or "auto"
    types = (host.capabilities or {}).get("domain_types") or []
    domain_type = wanted if wanted != "auto" else ("kvm" if "kvm" in types else "qemu")
    ops.report(op, f"domain type {domain_type} (host offers {', '.join(types) or 'nothing?'})",
               progress=10)
    disk_path = _new_volume(op, conn, spec) if spec.get("disk") == "new" else None
    if spec.get("disk") == "existing":
        disk_path = spec["volume"]
    if dom is None:
        ops.report(op, None, params={**op.params, "made_domain": True})
        dom = domains.define(conn, builder.domain_xml(spec, domain_type, disk_path))
        ops.report(op, f"defined {spec['name']}", progress=50,
                   xml_after=domains.xml(dom, inactive=True))
    else:
        ops.report(op, f"{spec['name']} is already defined (by this operation's first attempt)")
    ops.checkpoint(op, "defined")
    if spec.get("start", True) and not domains.is_active(dom):
        ops.report(op, "starting", progress=60)
        dom = _start_new(op, conn, dom, spec, domain_type)
        ops.report(op, f"{spec['name']} is {domains.state(dom)}", progress=80,
                   xml_after=domains.xml(dom))
    # The new VM is in the read model (the VM list, the topology) right now, whatever the full
    # sync below costs or meets (a slow host check used to leave it missing for minutes).
    row = host_services.store_domain(host, inventory.domain_record(conn, dom))
    if op.team_id:
        Domain.objects.filter(pk=row.pk).update(owner_id=op.team_id)
    events.host_inventory(host)
    signals.announce(host.pk, "vm.create")
    refresh(op)
    if op.team_id:
        Domain.objects.filter(host=host, name=spec["name"]).update(owner_id=op.team_id)


def _new_volume(op, conn, spec):
    name = f"{spec['name']}.qcow2"
    path = domains.volume_path(conn, spec["pool"], name)
    if path is not None:
        if op.params.get("made_volume"):
            ops.report(op, f"{path} is already there (made by this operation's first attempt)")
            return path
        raise VirtError(f"pool {spec['pool']} already has a volume {name}: delete it, or create "
                        "the VM with it as its existing disk", VirtError.INVALID, retryable=False)
    ops.report(op, f"creating a {spec['disk_gib']} GiB qcow2 volume in pool {spec['pool']}",
               progress=20, params={**op.params, "made_volume": True})
    path = domains.create_volume(conn, spec["pool"], name, int(spec["disk_gib"]) * 2 ** 30)
    ops.report(op, f"created {path}", progress=35)
    ops.checkpoint(op, "volume")
    return path


def _remove_own_vm(op):
    """Clean-up after a failed create: remove the definition and the new volume, but only what
    this operation made (the domain with the UUID it gave it; the volume it marked)."""
    spec, conn, removed = op.params["spec"], _conn(op.host), []
    if op.params.get("made_domain") and spec.get("uuid"):
        dom = domains.lookup_name(conn, spec["name"])
        if dom is not None and domains.uuid_of(dom) == spec["uuid"]:
            if domains.is_active(dom):
                domains.destroy(dom)
            domains.undefine(dom)
            removed.append(f"the definition of {spec['name']}")
    if op.params.get("made_volume"):
        path = domains.volume_path(conn, spec["pool"], f"{spec['name']}.qcow2")
        if path and domains.delete_volume(conn, path):
            removed.append(f"the new volume {path}")
    if not removed:
        return ""
    refresh(op)
    return f"Removed {' and '.join(removed)} again; the host is as it was."


from . import nic_handlers  # noqa: E402,F401 - registers the NIC operation handlers
