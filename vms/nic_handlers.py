"""NIC operations: add (hot-plug), remove (hot-unplug), update (source, link, model, MAC,
bandwidth, portgroup). Live changes first, then the persistent config."""

import time

from kvmweb.virt import domains
from kvmweb.virt.domains import CONFIG, LIVE
from kvmweb.virt.errors import VirtError
from kvmweb.virt.xml import Domain as DomainXML
from operations import services as ops

from . import builder
from .handlers import UNPLUG_TIMEOUT, _conn, _record, refresh

REPLUG_KEYS = ("type", "source", "mode", "portgroup", "mac")


def _describe(nic):
    kind, source = nic.get("type") or "network", nic.get("source")
    return {"network": f"network '{source}'", "bridge": f"bridge {source}",
            "direct": f"macvtap on {source} ({nic.get('mode') or 'bridge'})"}.get(kind, source)


def _find(dom, mac, inactive):
    doc = DomainXML.from_xml(domains.xml(dom, inactive=inactive))
    return doc.find_interface(mac)


def _wait_unplugged(dom, mac):
    deadline = time.monotonic() + UNPLUG_TIMEOUT
    while time.monotonic() < deadline:
        if _find(dom, mac, inactive=False) is None:
            return True
        time.sleep(0.5)
    return False


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
        if _wait_unplugged(dom, mac):
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
    if not _wait_unplugged(dom, old_mac):
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
