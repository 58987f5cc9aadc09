"""Domain and NIC XML for new VMs and NIC edits, built with kvmweb.virt.xml (never strings)."""

from kvmweb.virt.probes import AGENT_CHANNEL
from kvmweb.virt.xml import Domain

SOURCE_KEYS = ("type", "source", "mode", "portgroup")


def set_source(iface, nic):
    kind, source = nic.get("type") or "network", nic.get("source")
    if kind == "network":
        iface.set_source("network", network=source, portgroup=nic.get("portgroup") or None)
    elif kind == "bridge":
        iface.set_source("bridge", bridge=source)
    else:
        iface.set_source("direct", dev=source, mode=nic.get("mode") or "bridge")


def _limit(iface, direction, value):
    bandwidth = iface.bandwidth
    limit = getattr(bandwidth, direction)
    if value in (None, ""):
        return
    if int(value) == 0:
        if limit.exists:
            setattr(bandwidth, direction, None)
        if bandwidth.exists and not bandwidth.inbound.exists and not bandwidth.outbound.exists:
            iface.bandwidth = None
        return
    limit.average = int(value)


def apply_nic(iface, nic, model=True):
    """Apply a NIC spec (or a partial change) to an Interface. Keys absent are left alone."""
    if any(k in nic for k in ("type", "source")) and nic.get("source"):
        set_source(iface, nic)
    elif "portgroup" in nic and iface.type == "network":
        iface.source_portgroup = nic["portgroup"] or None
    if nic.get("mac"):
        iface.mac = nic["mac"]
    if model and nic.get("model"):
        iface.model = nic["model"]
    if nic.get("link_state"):
        iface.link_state = None if nic["link_state"] == "up" else "down"
    _limit(iface, "inbound", nic.get("inbound_average"))
    _limit(iface, "outbound", nic.get("outbound_average"))
    return iface


def interface_xml(nic):
    """A standalone ``<interface>`` for attachDeviceFlags."""
    doc = Domain.new()
    iface = doc.interfaces.add()
    apply_nic(iface, {"model": "virtio", **nic})
    return iface.get_xml()


def domain_xml(spec, domain_type, disk_path=None):
    """The definition of a new VM from a validated create spec."""
    mib = int(spec["memory_mib"])
    doc = Domain.new(type=domain_type, name=spec["name"], vcpu=int(spec["vcpus"]))
    if spec.get("uuid"):
        doc.uuid = spec["uuid"]  # fixed by the create operation before it defines anything
    doc.memory = mib * 1024
    doc.current_memory = mib * 1024
    doc.os.type = "hvm"
    doc.os.arch = "x86_64"
    boot = spec.get("boot") or "network"
    if boot == "kernel":
        doc.os.kernel = spec["kernel"]
        doc.os.initrd = spec["initrd"]
        doc.os.cmdline = spec.get("cmdline") or "console=ttyS0"
    else:
        doc.os.boot_devs = {"network": ["network", "hd"], "hd": ["hd"],
                            "cdrom": ["cdrom", "hd"]}[boot]
    doc.features.acpi = True
    doc.features.apic = True
    doc.on_poweroff, doc.on_reboot, doc.on_crash = "destroy", "restart", "destroy"
    if disk_path:
        doc.disks.add(type="file", device="disk", driver_name="qemu",
                      driver_type=spec.get("disk_format") or "qcow2", source_file=disk_path,
                      target_dev="vda", target_bus="virtio")
    if boot == "cdrom":
        doc.disks.add(type="file", device="cdrom", driver_name="qemu", driver_type="raw",
                      source_file=spec["iso"], target_dev="hdc", target_bus="ide", readonly=True)
    for nic in spec.get("nics") or []:
        apply_nic(doc.interfaces.add(), {"model": "virtio", **nic})
    if (spec.get("display") or "vnc") == "vnc":
        # Loopback only: kvmweb reaches it through an SSH channel; nothing else can.
        doc.graphics.add(type="vnc", port=-1, autoport=True).set_listen("127.0.0.1")
    doc.serials.add(type="pty", target_port=0)
    doc.consoles.add(type="pty", target_type="serial", target_port=0)
    if spec.get("guest_agent", True):
        # The port qemu-guest-agent listens on: kvmweb's in-guest probes (guest-exec ping) and
        # the guest's own addresses (guest-network-get-interfaces) go through it.
        doc.channels.add(type="unix", target_type="virtio", target_name=AGENT_CHANNEL)
    return doc.to_xml()
