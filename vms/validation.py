"""Checks made before anything is sent to a host, against the read model.

Each function returns ``{field: [message, ...]}``; empty means fine. Messages say what is wrong
and how to fix it. The host can still refuse (the read model may be stale); the operation log
then carries libvirt's own words.
"""

import re

from hosts.models import HostInterface
from kvmweb.virt.xml import Network as NetworkXML
from kvmweb.virt.xml import XMLError
from networks.models import Network
from networks.validation import bridge_port_refusal

from .choices import LINK_STATES, MACVTAP_MODES, NIC_MODELS, NIC_TYPES
from .models import Domain, DomainInterface, StoragePool, Volume

MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,62}$")
GIB = 2 ** 30


def normalize_mac(mac):
    return (mac or "").strip().lower().replace("-", ":")


def mac_error(mac, ignore_nic=None):
    """Why this MAC cannot be used (malformed, multicast, taken anywhere we know), or None."""
    mac = normalize_mac(mac)
    if not MAC_RE.match(mac):
        return f"'{mac}' is not a MAC address like 52:54:00:12:34:56"
    if int(mac[:2], 16) & 1:
        return (f"{mac} is a multicast address (lowest bit of the first byte set); "
                "a NIC needs a unicast MAC such as 52:54:00:…")
    if mac == "00:00:00:00:00:00":
        return "00:00:00:00:00:00 is not a usable MAC"
    taken = DomainInterface.objects.filter(mac=mac).select_related("domain__host")
    if ignore_nic is not None:
        taken = taken.exclude(pk=ignore_nic.pk)
    other = taken.first()
    if other is not None:
        return (f"{mac} is already used by VM '{other.domain.name}' on host {other.domain.host}; "
                "MACs must be unique across all hosts")
    return None


def _portgroups(network):
    try:
        return [pg.name for pg in NetworkXML.from_xml(network.xml).portgroups]
    except XMLError:
        return []


def source_errors(host, nic):
    """Checks of type/source/mode/portgroup for one NIC spec (a dict)."""
    errors = {}
    kind, source = nic.get("type") or "network", (nic.get("source") or "").strip()
    if kind not in dict(NIC_TYPES):
        return {"type": [f"choose one of {', '.join(dict(NIC_TYPES))}"]}
    if not source:
        return {"source": ["choose a network, bridge or host device"]}
    if kind == "network":
        net = Network.objects.filter(host=host, name=source).first()
        if net is None:
            known = ", ".join(host.networks.values_list("name", flat=True)) or "none"
            errors["source"] = [f"host {host} has no network '{source}' (known: {known})"]
        elif not net.active:
            errors["source"] = [f"network '{source}' is not active — start it first "
                                f"(virsh net-start {source}), or pick another network"]
        portgroup = nic.get("portgroup") or ""
        if net is not None and portgroup and portgroup not in _portgroups(net):
            errors["portgroup"] = [f"network '{source}' has no portgroup '{portgroup}'"]
    elif kind == "bridge":
        if not HostInterface.objects.filter(host=host, name=source, kind="bridge").exists():
            bridges = ", ".join(HostInterface.objects.filter(host=host, kind="bridge")
                                .values_list("name", flat=True)) or "none"
            errors["source"] = [f"host {host} has no bridge '{source}' (bridges: {bridges}); "
                                "create it on the host and sync, or use a virtual network"]
    else:
        iface = HostInterface.objects.filter(host=host, name=source).first()
        if iface is None or iface.kind in ("loopback", "tun/tap", "macvtap"):
            devs = ", ".join(HostInterface.objects.filter(host=host).exclude(
                kind__in=("loopback", "tun/tap", "macvtap")).values_list("name", flat=True))
            errors["source"] = [f"host {host} has no device '{source}' to put a macvtap on "
                                f"(devices: {devs or 'none'})"]
        elif iface.master and HostInterface.objects.filter(
                host=host, name=iface.master, kind__in=("bridge", "ovs", "openvswitch")).exists():
            errors["source"] = [bridge_port_refusal(host.name, source, iface.master)]
        if (nic.get("mode") or "bridge") not in MACVTAP_MODES:
            errors["mode"] = [f"macvtap mode must be one of {', '.join(MACVTAP_MODES)}"]
    return errors


def nic_warnings(host, nic, old=None, running=False):
    """What will work, but in a way that surprises people (shown, never refused): the
    macvtap host <-> guest blind spot, NAT isolation, and a running NIC moved elsewhere that
    keeps its old address until the guest renews its DHCP lease."""
    kind, source = nic.get("type") or "network", (nic.get("source") or "").strip()
    warnings = []
    if kind == "direct":
        warnings.append(f"macvtap on {source}: the VM reaches the LAN and other hosts, but not "
                        f"{host.name} itself (the lower device never hands the guest's frames "
                        "to its own host). For host <-> guest, add a second NIC on an isolated "
                        "network, or use a bridge over the uplink.")
    elif kind == "network":
        net = Network.objects.filter(host=host, name=source).only("kind").first()
        if net is not None and net.kind == "nat":
            warnings.append(f"{source} is a NAT network: the VM reaches out through "
                            f"{host.name}'s address, but the LAN, other hosts and VMs behind "
                            "other NAT networks cannot start connections to it.")
    if old is not None and running and (old.type, old.source) != (kind, source):
        warnings.append(f"The guest keeps its old address until it renews its DHCP lease on "
                        f"{source}: bounce the NIC's link (Bounce link on its row; API: POST "
                        "…/nics/<mac>/bounce/) to make it ask again.")
    return warnings


def nic_errors(host, nic, ignore_nic=None, check_source=True):
    """Everything about one NIC spec: source, model, MAC, link state, bandwidth."""
    errors = source_errors(host, nic) if check_source else {}
    model = nic.get("model")
    if model and model not in NIC_MODELS:
        errors["model"] = [f"host {host} does not offer NIC model '{model}'; "
                           f"choose one of {', '.join(NIC_MODELS)}"]
    if nic.get("mac"):
        problem = mac_error(nic["mac"], ignore_nic=ignore_nic)
        if problem:
            errors["mac"] = [problem]
    if nic.get("link_state") and nic["link_state"] not in LINK_STATES:
        errors["link_state"] = ["link state is 'up' or 'down'"]
    for key in ("inbound_average", "outbound_average"):
        value = nic.get(key)
        if value not in (None, "") and (not str(value).isdigit()):
            errors[key] = ["give KiB/s as a whole number (0 removes the limit)"]
    return errors


def vm_errors(host, spec):
    """Checks for a new VM: name, size against the host, disk against the pool, boot, NICs.
    NIC errors come back as ``nics`` -> [{field: [msg]}, ...] (one dict per NIC)."""
    errors = {}
    name = spec.get("name") or ""
    if not NAME_RE.match(name):
        errors["name"] = ["use letters, digits and . _ + - (up to 63), starting with a letter or digit"]
    elif Domain.objects.filter(host=host, name=name).exists():
        errors["name"] = [f"a VM named '{name}' already exists on host {host}"]
    caps = host.capabilities or {}
    memory, vcpus = spec.get("memory_mib") or 0, spec.get("vcpus") or 0
    if memory < 16:
        errors["memory_mib"] = ["give at least 16 MiB"]
    elif caps.get("memory_mib") and memory > caps["memory_mib"]:
        errors["memory_mib"] = [f"host {host} has {caps['memory_mib']} MiB of memory; "
                                f"{memory} MiB does not fit"]
    if vcpus < 1:
        errors["vcpus"] = ["give at least 1 vCPU"]
    elif caps.get("cpus") and vcpus > caps["cpus"]:
        errors["vcpus"] = [f"host {host} has {caps['cpus']} CPUs; {vcpus} vCPUs is more than that"]
    errors.update(_disk_errors(host, spec))
    errors.update(_boot_errors(spec))
    nic_problems, macs = [], set()
    for nic in spec.get("nics") or []:
        problems = nic_errors(host, nic)
        mac = normalize_mac(nic.get("mac"))
        if mac and mac in macs:
            problems.setdefault("mac", []).append(f"{mac} is given to two NICs of this VM")
        macs.add(mac)
        nic_problems.append(problems)
    if any(nic_problems):
        errors["nics"] = nic_problems
    if spec.get("boot") == "network" and not spec.get("nics"):
        errors.setdefault("boot", []).append("network boot needs at least one NIC")
    return errors


def _disk_errors(host, spec):
    disk = spec.get("disk") or "none"
    if disk == "new":
        pool = StoragePool.objects.filter(host=host, name=spec.get("pool") or "").first()
        size = spec.get("disk_gib") or 0
        if pool is None:
            pools = ", ".join(host.pools.values_list("name", flat=True)) or "none known — sync the host"
            return {"pool": [f"host {host} has no storage pool '{spec.get('pool')}' ({pools})"]}
        if not pool.active:
            return {"pool": [f"storage pool '{pool.name}' is not active — start it first"]}
        if size < 1:
            return {"disk_gib": ["give the disk size in GiB (at least 1)"]}
        if size * GIB > pool.available:
            return {"disk_gib": [f"pool '{pool.name}' has {pool.available_gib} GiB free; "
                                 f"a {size} GiB disk does not fit"]}
        if pool.volumes.filter(name=f"{spec.get('name')}.qcow2").exists():
            return {"name": [f"pool '{pool.name}' already has a volume {spec.get('name')}.qcow2"]}
    elif disk == "existing":
        if not Volume.objects.filter(pool__host=host, path=spec.get("volume") or "").exists():
            return {"volume": [f"no volume '{spec.get('volume')}' in host {host}'s pools"]}
    elif disk != "none":
        return {"disk": ["choose none, new or existing"]}
    return {}


def _boot_errors(spec):
    boot = spec.get("boot") or "network"
    if boot == "kernel":
        missing = {k: ["give an absolute path on the host"] for k in ("kernel", "initrd")
                   if not (spec.get(k) or "").startswith("/")}
        return missing
    if boot == "cdrom" and not (spec.get("iso") or "").startswith("/"):
        return {"iso": ["give the ISO's absolute path on the host"]}
    if boot == "hd" and (spec.get("disk") or "none") == "none":
        return {"boot": ["booting from disk needs a disk"]}
    if boot not in ("network", "hd", "cdrom", "kernel"):
        return {"boot": ["choose network, hd, cdrom or kernel"]}
    return {}
