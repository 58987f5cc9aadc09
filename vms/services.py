"""What requests may do with VMs: validate against the read model, then create Operations.

Nothing here talks to a host; the handlers (vms.operations) do, in the worker.
Each ``request_*`` first asks vms.access whether ``user`` may (``Refused``: 403, nothing
created), then raises ``Invalid`` (field errors, no Operation created) or returns the Operation.
"""

import random

from django.db import transaction

from kvmweb.access import Refused, acting_team
from kvmweb.lab import bootpool
from kvmweb.virt.xml import Domain as DomainXML
from operations import services as ops
from teams.quotas import over_quota

from . import access, validation, versions
from .versions import target as _target  # one target for the locks and the versions
from .choices import ACTIONS_BY_STATE, VM_ACTIONS
from .models import DomainInterface, Volume


class Invalid(Exception):
    def __init__(self, errors):
        super().__init__(str(errors))
        self.errors = errors


def new_mac():
    """A random 52:54:00 (QEMU/KVM) MAC that no NIC kvmweb knows of uses."""
    for _ in range(100):
        mac = "52:54:00:%02x:%02x:%02x" % tuple(random.randrange(256) for _ in range(3))
        if not DomainInterface.objects.filter(mac=mac).exists():
            return mac
    raise RuntimeError("could not find a free MAC")


def domain_type(host, wanted="auto"):
    """The domain type a new VM gets: the one asked for; for ``auto``, the host's own setting
    (Host.domain_type: lab hosts say qemu), else kvm where the host offers it, else qemu."""
    if wanted and wanted != "auto":
        return wanted
    if host.domain_type and host.domain_type != "auto":
        return host.domain_type
    return "kvm" if "kvm" in ((host.capabilities or {}).get("domain_types") or []) else "qemu"


def lab_boot(host):
    """The tiny Linux on a lab host (the pool ``lab-boot`` with its kernel and initrd volumes,
    as the read model last saw it): {pool, kernel, initrd, domain_type}, or None."""
    vols = dict(Volume.objects.filter(pool__host=host, pool__name=bootpool.BOOT_POOL,
                                      pool__active=True).values_list("name", "path"))
    kernel, initrd = vols.get(bootpool.KERNEL_VOLUME), vols.get(bootpool.INITRD_VOLUME)
    if not (kernel and initrd):
        return None
    return {"pool": bootpool.BOOT_POOL, "kernel": kernel, "initrd": initrd,
            "kernel_volume": bootpool.KERNEL_VOLUME, "initrd_volume": bootpool.INITRD_VOLUME,
            "domain_type": domain_type(host)}


def form_initial(host):
    """What the Create VM form starts with on this host: the host's domain type and, where the
    lab's tiny Linux is, everything needed to boot it (kernel + initrd from its pool)."""
    initial = {"domain_type": host.domain_type or "auto"}
    found = lab_boot(host)
    if found:
        initial.update(boot="kernel", kernel=found["kernel"], initrd=found["initrd"],
                       memory_mib=128)
    return initial


def _clean_nic(nic):
    nic = {k: v for k, v in nic.items() if v not in (None, "")}
    nic.setdefault("type", "network")
    nic.setdefault("model", "virtio")
    if nic.get("mac"):
        nic["mac"] = validation.normalize_mac(nic["mac"])
    return nic


def _require_quota(team, **adding):
    problem = over_quota(team, **adding)
    if problem:
        raise Refused(problem)


def request_create(user, host, spec, team=None):
    """``team`` will own the VM (see kvmweb.access.acting_team for who may pick which)."""
    team = acting_team(user, host, team)
    spec = {**spec, "nics": [_clean_nic(n) for n in spec.get("nics") or []]}
    access.require_spec(user, host, spec)
    errors = validation.vm_errors(host, spec)
    if errors:
        raise Invalid(errors)
    _require_quota(team, max_vms=1, max_vcpus=spec.get("vcpus") or 0,
                   max_memory_mib=spec.get("memory_mib") or 0, max_nics=len(spec["nics"]))
    for nic in spec["nics"]:
        nic.setdefault("mac", new_mac())
    if spec.get("disk") == "existing":
        vol = Volume.objects.filter(pool__host=host, path=spec["volume"]).first()
        spec["disk_format"] = vol.format or "raw"
    with transaction.atomic():
        return ops.start(user, host, "vm.create", target=f"domain:{spec['name']}",
                         params={"name": spec["name"], "spec": spec}, team=team)


def request_action(user, vm, action, timeout=None):
    access.require_change_vm(user, vm)
    if action not in VM_ACTIONS:
        raise Invalid({"action": [f"unknown action {action!r}"]})
    allowed = ACTIONS_BY_STATE.get(vm.state, list(VM_ACTIONS))
    if action not in allowed:
        raise Invalid({"action": [f"{vm.name} is {vm.state}: you can {', '.join(allowed) or 'nothing'}"]})
    params = {"uuid": vm.uuid, "name": vm.name}
    if timeout is not None:
        params["timeout"] = int(timeout)
    with transaction.atomic():
        return ops.start(user, vm.host, VM_ACTIONS[action], target=_target(vm), params=params,
                         team=vm.owner)


def request_delete(user, vm, remove_disks=False, version=None):
    access.require_change_vm(user, vm)
    versions.refuse_if_stale(vm, version)
    with transaction.atomic():
        return ops.start(user, vm.host, "vm.delete", target=_target(vm), team=vm.owner,
                         params={"uuid": vm.uuid, "name": vm.name, "remove_disks": bool(remove_disks)})


def request_refresh(user, host):
    from hosts.access import require_sync_host

    require_sync_host(user, host)  # a refresh is a sync of the VM side: same rule and limit
    with transaction.atomic():
        return ops.start(user, host, "vm.refresh", target="inventory")


def request_nic_add(user, vm, nic, version=None):
    """``version``: the VM's version the change was planned against (vms.versions); a stale one
    is refused with 409 (kvmweb.conflicts.Conflict), as with every NIC change below."""
    access.require_change_vm(user, vm)
    versions.refuse_if_stale(vm, version)
    nic = _clean_nic(nic)
    access.require_nic(user, vm.host, nic)
    errors = validation.nic_errors(vm.host, nic)
    if errors:
        raise Invalid(errors)
    _require_quota(vm.owner, max_nics=1)
    nic.setdefault("mac", new_mac())
    with transaction.atomic():
        return ops.start(user, vm.host, "nic.add", target=_target(vm), team=vm.owner,
                         params={"uuid": vm.uuid, "name": vm.name, "nic": nic})


def request_nic_remove(user, vm, nic, version=None):
    access.require_change_vm(user, vm)
    versions.refuse_if_stale(vm, version)
    with transaction.atomic():
        return ops.start(user, vm.host, "nic.remove", target=_target(vm), team=vm.owner,
                         params={"uuid": vm.uuid, "name": vm.name, "mac": nic.mac})


def request_nic_update(user, vm, nic, changes, version=None):
    """``changes``: any of type+source(+mode/portgroup), portgroup, link_state, model, mac,
    inbound_average, outbound_average. Only what differs from the NIC is sent."""
    access.require_change_vm(user, vm)
    versions.refuse_if_stale(vm, version)
    changes = {k: v for k, v in changes.items() if v is not None}
    if changes.get("mac"):
        changes["mac"] = validation.normalize_mac(changes["mac"])
    if changes.get("source"):
        changes.setdefault("type", nic.type)
        same = (changes["type"] == nic.type and changes["source"] == nic.source
                and changes.get("mode", nic.mode) == nic.mode
                and changes.get("portgroup", nic.portgroup) == nic.portgroup)
        if same:
            for key in ("type", "source", "mode", "portgroup"):
                changes.pop(key, None)
    for key, current in (("model", nic.model), ("link_state", nic.link_state), ("mac", nic.mac)):
        if changes.get(key) == current:
            changes.pop(key)
    if "portgroup" in changes and "source" not in changes and changes["portgroup"] == nic.portgroup:
        changes.pop("portgroup")
    if not changes:
        raise Invalid({"non_field_errors": ["nothing to change"]})
    spec = dict(changes)
    if "portgroup" in spec and "source" not in spec:
        spec.update(type=nic.type, source=nic.source)
    if spec.get("source"):
        access.require_nic(user, vm.host, spec)
    errors = validation.nic_errors(vm.host, spec, ignore_nic=nic,
                                   check_source=bool(spec.get("source")))
    if errors:
        raise Invalid(errors)
    with transaction.atomic():
        return ops.start(user, vm.host, "nic.update", target=_target(vm), team=vm.owner,
                         params={"uuid": vm.uuid, "name": vm.name, "mac": nic.mac,
                                 "changes": changes})


def request_nic_bounce(user, vm, nic):
    """Set a running VM's NIC link down for a few seconds, then up again (live only): the
    guest sees its cable unplugged and plugged, and asks DHCP again (after a source change)."""
    access.require_change_vm(user, vm)
    if vm.state != "running":
        raise Invalid({"non_field_errors": [f"{vm.name} is {vm.state}: a link is bounced on a "
                                            "running VM (it asks DHCP at its next start)"]})
    if nic.link_state == "down":
        raise Invalid({"link_state": [f"the link of {nic.mac} is down: set it up instead"]})
    with transaction.atomic():
        return ops.start(user, vm.host, "nic.bounce", target=_target(vm), team=vm.owner,
                         params={"uuid": vm.uuid, "name": vm.name, "mac": nic.mac})


def nic_offers(vm, nic, changes):
    """What to do next after a NIC change, as links (pages) and API calls: a running NIC whose
    source moved keeps its old address until the guest renews DHCP, so offer the bounce."""
    from django.urls import reverse

    if vm.state != "running" or not changes.get("source"):
        return []
    return [{"kind": "bounce-link", "title": f"Bounce the link of {nic.mac} (down, then up) so "
             "the guest asks DHCP again on its new source",
             "href": reverse("vms:nic_edit", args=[vm.pk, nic.mac]) + "#bounce",
             "api": reverse("api:vm-nic-bounce", args=[vm.pk, nic.mac])}]


def request_nic_persist(user, vm, nic):
    """Keep a running NIC's live source (e.g. after a host network port move, which lasts
    only until the VM stops) by writing it into the VM's config."""
    access.require_change_vm(user, vm)
    if vm.state != "running":
        raise Invalid({"non_field_errors": [f"{vm.name} is {vm.state}: its config is all there "
                                            "is; edit the NIC instead"]})
    with transaction.atomic():
        return ops.start(user, vm.host, "nic.persist", target=_target(vm), team=vm.owner,
                         params={"uuid": vm.uuid, "name": vm.name, "mac": nic.mac})


def persist_offer(vm, mac, bridge):
    """The offer after a port move of a running VM's tap (it lasts until the VM stops)."""
    from django.urls import reverse

    return {"kind": "persist-port-move",
            "title": f"Make it persistent: keep {vm.name}'s NIC {mac} on {bridge} after a "
                     "restart (written in the VM's config)",
            "href": reverse("vms:nic_edit", args=[vm.pk, mac]) + f"?persist={bridge}#persist",
            "api": reverse("api:vm-nic-persist", args=[vm.pk, mac])}


# -- read-model helpers (pages, API, access) ---------------------------------------------

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
