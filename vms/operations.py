"""Operation handlers for VMs and their NICs: they run in the Celery worker and talk to hosts
through kvmweb.virt.domains. Every change records the domain XML before and after, then
refreshes the read model. NICs: add (hot-plug), remove (hot-unplug), update (source, link,
model, MAC, bandwidth, portgroup), bounce, persist: live changes first, then the config."""

import logging
import time
import uuid

from django.db import transaction

from hosts import operations as host_operations
from hosts import services as host_services
from hosts import signals
from kvmweb import events
from kvmweb.virt import domains, inventory, netlink
from kvmweb.virt.domains import CONFIG, LIVE, UNPLUG_TIMEOUT
from kvmweb.virt.errors import VirtError
from kvmweb.virt.xml import Domain as DomainXML
from operations import services as ops

from . import addresses, builder, services
from .models import Domain, StoragePool, Volume

log = logging.getLogger(__name__)


def _conn(host):
    return host_operations.libvirt_connection(host)


def _dom(op):
    return domains.lookup(_conn(op.host), op.params["uuid"])


# --------------------------------------------------------------------------- read model

@transaction.atomic
def _store_vm_side(host, pools, agent, neighbours):
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
    addresses.store_agent_addresses(host, agent)
    if neighbours is not None:
        addresses.store_neighbours(host, neighbours)


def sync_vm_side(host):
    """What the host sync does not read: storage pools and volumes, and guest addresses from
    the guest agent or the host's neighbour table (DHCP leases come with the host sync). The
    table is read through netlink, not libvirt's ARP source (/proc/net/arp), because whether an
    entry still counts depends on its state and when it was confirmed (vms.addresses)."""
    conn = _conn(host)
    pools = domains.list_pools(conn)
    agent = []
    for dom_row in Domain.objects.filter(host=host, state="running"):
        try:
            dom = domains.lookup(conn, dom_row.uuid)
        except VirtError:
            continue
        agent += domains.interface_addresses(dom, "agent")
    try:
        neighbours = netlink.read_neighbours(host.target())
    except VirtError as exc:
        log.info("host %s: neighbour table not read: %s", host, exc)
        neighbours = None  # keep what the watcher's stream stored
    _store_vm_side(host, pools, agent, neighbours)


def refresh(op):
    ops.report(op, "refreshing kvmweb's view of the host", progress=90)
    try:
        host_operations.sync(op.host)  # includes sync_vm_side (a SYNC_EXTENSION)
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


@ops.handler("vm.delete", edits=True)
def delete(op):
    conn = _conn(op.host)
    dom = domains.lookup(conn, op.params["uuid"])
    before = domains.xml(dom, inactive=True)
    if domains.is_active(dom):
        ops.report(op, f"{op.params['name']} is running: forcing it off first", progress=10)
        domains.destroy(dom)
    disks = services.disk_paths(before)
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
    domain_type = services.domain_type(host, wanted)
    why = ("as asked" if wanted != "auto"
           else f"{host} is set to {host.domain_type}" if host.domain_type != "auto"
           else f"host offers {', '.join(types) or 'nothing?'}")
    ops.report(op, f"domain type {domain_type} ({why})", progress=10)
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


# --------------------------------------------------------------------------- NICs

REPLUG_KEYS = ("type", "source", "mode", "portgroup", "mac")


def _describe(nic):
    kind, source = nic.get("type") or "network", nic.get("source")
    return {"network": f"network '{source}'", "bridge": f"bridge {source}",
            "direct": f"macvtap on {source} ({nic.get('mode') or 'bridge'})"}.get(kind, source)


def _find(dom, mac, inactive):
    doc = DomainXML.from_xml(domains.xml(dom, inactive=inactive))
    return doc.find_interface(mac)


def _persistent(dom):
    return bool(dom.isPersistent())


@ops.handler("nic.add", resumable=True, plumbing=True, edits=True)
def add(op):
    """Plug the NIC into the running VM and its config; a resumed run adds only what is not
    there yet."""
    dom = domains.lookup(_conn(op.host), op.params["uuid"])
    before = domains.xml(dom)
    nic = op.params["nic"]
    active = domains.is_active(dom)
    missing = {LIVE: active and _find(dom, nic["mac"], inactive=False) is None,
               CONFIG: _persistent(dom) and _find(dom, nic["mac"], inactive=True) is None}
    wanted = {LIVE: active, CONFIG: _persistent(dom)}
    if missing != wanted and op.attempts <= 1:
        raise VirtError(f"the VM already has a NIC {nic['mac']}", VirtError.INVALID,
                        retryable=False)
    flags = sum(flag for flag, need in missing.items() if need)
    if flags:
        domains.attach(dom, builder.interface_xml(nic), flags)
    else:
        ops.report(op, f"NIC {nic['mac']} is already there (this operation's first attempt)")
    where = ("plugged into the running VM and added to its config" if active
             else "added to the config (the VM is shut off; the NIC appears at next start)")
    _record(op, before, dom, f"NIC {nic['mac']} on {_describe(nic)}: {where}")
    refresh(op)


@ops.handler("nic.remove", plumbing=True, edits=True)
def remove(op):
    dom = domains.lookup(_conn(op.host), op.params["uuid"])
    mac = op.params["mac"]
    before = domains.xml(dom)
    if domains.is_active(dom):
        nic = _find(dom, mac, inactive=False)
        if nic is None:
            raise VirtError(f"the running VM has no NIC {mac}", retryable=False)
        in_config = _persistent(dom) and _find(dom, mac, inactive=True) is not None
        domains.detach(dom, nic.get_xml(), LIVE | (CONFIG if in_config else 0))
        ops.report(op, f"asked the guest to release NIC {mac} (PCI hot-unplug)", progress=40)
        if domains.wait_nic_released(dom, mac):
            message = f"NIC {mac} removed from the running VM and from its config"
        else:
            message = (f"the guest has not released NIC {mac} after {UNPLUG_TIMEOUT} s (no ACPI "
                       "PCI hotplug in the guest?); it is gone from the config and disappears "
                       "at the next shutdown")
    else:
        nic = _find(dom, mac, inactive=True)
        if nic is None:
            raise VirtError(f"the VM has no NIC {mac}", retryable=False)
        domains.detach(dom, nic.get_xml(), CONFIG)
        message = f"NIC {mac} removed from the config"
    _record(op, before, dom, message)
    refresh(op)


def _replug(op, dom, old_mac, new_iface, reason):
    """Unplug the live NIC and plug the changed one: the guest sees a new NIC."""
    ops.report(op, f"{reason}; unplugging NIC {old_mac} and plugging it back changed — "
                   "the guest sees a NEW NIC (it must bring it up and ask DHCP again)",
               progress=40)
    old = _find(dom, old_mac, inactive=False)
    domains.detach(dom, old.get_xml(), LIVE)
    if not domains.wait_nic_released(dom, old_mac):
        raise VirtError(f"the guest did not release NIC {old_mac} within {UNPLUG_TIMEOUT} s, so "
                        "it cannot be replaced live; shut the VM down and change it then",
                        retryable=False)
    domains.attach(dom, new_iface.get_xml(), LIVE)
    ops.report(op, "plugged the changed NIC into the running VM", progress=60)


def _replug_resumed(op, dom, mac, changes):
    """A resumed run whose first attempt may have stopped between unplug and plug: plug the
    changed NIC unless it is already in the running VM. True when it dealt with the NIC."""
    new_mac = changes.get("mac") or mac
    if _find(dom, mac, inactive=False) is not None:
        return False
    if new_mac != mac and _find(dom, new_mac, inactive=False) is not None:
        ops.report(op, f"NIC {new_mac} is already changed in the running VM (first attempt)")
        return True
    cfg = _find(dom, mac, inactive=True) or _find(dom, new_mac, inactive=True)
    if cfg is None:
        return False
    builder.apply_nic(cfg, changes, model=False)
    cfg.target_dev, cfg.alias = None, None
    domains.attach(dom, cfg.get_xml(), LIVE)
    ops.report(op, "the first attempt had unplugged the NIC: plugged the changed NIC back in",
               progress=60)
    return True


def _live_change(op, dom, mac, changes):
    if op.attempts > 1 and _replug_resumed(op, dom, mac, changes):
        return
    live = _find(dom, mac, inactive=False)
    if live is None:
        raise VirtError(f"the running VM has no NIC {mac}", retryable=False)
    wants_source = any(k in changes for k in REPLUG_KEYS[:4]) and changes.get("source")
    if changes.get("mac") and changes["mac"] != mac:
        new = _find(dom, mac, inactive=False)
        builder.apply_nic(new, changes, model=True)
        new.target_dev, new.alias = None, None
        _replug(op, dom, mac, new, "a running NIC cannot change its MAC")
        return
    builder.apply_nic(live, changes, model=False)
    try:
        domains.update(dom, live.get_xml(), LIVE)
        ops.report(op, "changed the running NIC in place (updateDeviceFlags, live)", progress=50)
    except VirtError as exc:
        if "qdisc" in str(exc):
            raise VirtError(f"{exc} — the host's kernel lacks a traffic-control module libvirt "
                            "uses for bandwidth limits (modprobe sch_htb sch_sfq on the host); "
                            "nothing was saved in the VM's config", retryable=False) from exc
        if not wants_source and "portgroup" not in changes:
            raise
        new = _find(dom, mac, inactive=False)
        builder.apply_nic(new, changes, model=False)
        new.target_dev, new.alias = None, None
        _replug(op, dom, mac, new, f"libvirt refused to change the source live ({exc})")


def move_tap_live(op, host, uuid, mac, bridge):
    """Move a running VM's NIC onto another host bridge the way libvirt does it (its tap leaves
    the old bridge and joins the new one), so libvirt's live XML names the bridge the tap is
    on. The VM's config is left alone: like `brctl addif`, the move lasts until the VM stops."""
    dom = domains.lookup(_conn(host), uuid)
    before = domains.xml(dom)
    _live_change(op, dom, mac, {"type": "bridge", "source": bridge})
    _record(op, before, dom, f"libvirt now shows NIC {mac} as type='bridge' source "
                             f"bridge='{bridge}' (live); the VM's config keeps its old source")


@ops.handler("nic.update", resumable=True, plumbing=True, edits=True)
def update(op):
    """Live change first, then the config. Both steps are safe to repeat (the same change
    applied again), so a run resumed after its worker died simply does them again."""
    dom = domains.lookup(_conn(op.host), op.params["uuid"])
    mac, changes = op.params["mac"], op.params["changes"]
    before = domains.xml(dom)
    active = domains.is_active(dom)
    if active and any(k != "model" for k in changes):
        _live_change(op, dom, mac, changes)
    ops.checkpoint(op, "live")
    new_mac = changes.get("mac") or mac
    if (_persistent(dom) and new_mac != mac and op.attempts > 1
            and _find(dom, mac, inactive=True) is None
            and _find(dom, new_mac, inactive=True) is not None):
        ops.report(op, "the config already has the change (first attempt)", progress=70)
    elif _persistent(dom):
        cfg = _find(dom, mac, inactive=True)
        if cfg is None:
            raise VirtError(f"the VM's config has no NIC {mac}", retryable=False)
        builder.apply_nic(cfg, changes)
        if changes.get("mac") and changes["mac"] != mac:
            old = _find(dom, mac, inactive=True)
            domains.detach(dom, old.get_xml(), CONFIG)
            domains.attach(dom, cfg.get_xml(), CONFIG)
        else:
            domains.update(dom, cfg.get_xml(), CONFIG)
        ops.report(op, "saved the change in the VM's config", progress=70)
    if "model" in changes:
        ops.report(op, f"model {changes['model']} is in the config and takes effect at next boot "
                       "(shut down and start; a reboot keeps the running hardware)"
                   if active else f"model set to {changes['model']}")
    _record(op, before, dom, f"NIC {changes.get('mac') or mac} updated")
    refresh(op)


BOUNCE_SECONDS = 3


@ops.handler("nic.bounce", resumable=True, plumbing=True)
def bounce(op):
    """Link down, a few seconds, link up, on the running VM only (its config is untouched).
    Safe to repeat: a resumed run bounces again and always ends with the link up."""
    dom = domains.lookup(_conn(op.host), op.params["uuid"])
    mac = op.params["mac"]
    if not domains.is_active(dom):
        raise VirtError(f"{op.params['name']} is not running: nothing to bounce",
                        VirtError.INVALID, retryable=False)
    for state, progress in (("down", 30), ("up", 80)):
        live = _find(dom, mac, inactive=False)
        if live is None:
            raise VirtError(f"the running VM has no NIC {mac}", retryable=False)
        builder.apply_nic(live, {"link_state": state}, model=False)
        domains.update(dom, live.get_xml(), LIVE)
        ops.report(op, f"link of {mac} set {state} (live)", progress=progress)
        if state == "down":
            time.sleep(BOUNCE_SECONDS)
    _record(op, op.xml_before or domains.xml(dom), dom,
            f"bounced the link of {mac}: the guest saw its cable unplugged for "
            f"{BOUNCE_SECONDS} s and asks DHCP again")


@ops.handler("nic.persist", resumable=True, plumbing=True)
def persist(op):
    """Write the running NIC's source (where a port move put it) into the VM's config, so it
    stays there after the VM restarts. Safe to repeat: the same source written again."""
    dom = domains.lookup(_conn(op.host), op.params["uuid"])
    mac = op.params["mac"]
    live = _find(dom, mac, inactive=False) if domains.is_active(dom) else None
    if live is None:
        raise VirtError(f"{op.params['name']} has no running NIC {mac}: nothing to keep",
                        VirtError.INVALID, retryable=False)
    if live.type not in ("network", "bridge", "direct"):
        raise VirtError(f"NIC {mac} is of type {live.type}: kvmweb keeps only network, bridge "
                        "and macvtap sources", VirtError.INVALID, retryable=False)
    cfg = _find(dom, mac, inactive=True) if _persistent(dom) else None
    if cfg is None:
        raise VirtError(f"{op.params['name']} has no NIC {mac} in its config", retryable=False)
    before = domains.xml(dom, inactive=True)
    spec = {"type": live.type, "source": live.source, "mode": live.source_mode,
            "portgroup": live.source_portgroup}
    if cfg.type == live.type and cfg.source == spec["source"]:
        ops.report(op, f"the config already has {_describe(spec)}", progress=70)
    else:
        builder.apply_nic(cfg, spec, model=False)
        domains.update(dom, cfg.get_xml(), CONFIG)
    _record(op, op.xml_before or before, dom, f"NIC {mac} stays on {_describe(spec)} after a "
            "restart (written in the VM's config)")
    refresh(op)
