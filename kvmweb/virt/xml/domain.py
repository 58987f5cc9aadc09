"""libvirt domain XML (https://libvirt.org/formatdomain.html), the parts kvmweb needs:
identity, memory/CPU, boot, disks, and above all network interfaces.
Everything else (controllers, video...) is kept untouched."""

from __future__ import annotations

from typing import Any

from .base import (XMLChild, XMLChildList, XMLDoc, XMLError, XMLListProperty,
                   XMLObject, XMLProperty, XMLRaw, bool_yesno, integer,
                   mac_address, present)
from .common import Bandwidth, VirtualPort, Vlan

__all__ = ["Domain", "OS", "Features", "Disk", "Interface", "CharDevice", "Channel",
           "Graphics",
           "INTERFACE_TYPES", "memory_to_kib"]

INTERFACE_TYPES = ("network", "bridge", "direct", "hostdev", "user", "ethernet",
                   "vhostuser", "vdpa", "mcast", "server", "client", "udp")

_UNITS = {
    "b": 1, "bytes": 1,
    "kb": 1000, "k": 1024, "kib": 1024,
    "mb": 1000 ** 2, "m": 1024 ** 2, "mib": 1024 ** 2,
    "gb": 1000 ** 3, "g": 1024 ** 3, "gib": 1024 ** 3,
    "tb": 1000 ** 4, "t": 1024 ** 4, "tib": 1024 ** 4,
    "pb": 1000 ** 5, "p": 1024 ** 5, "pib": 1024 ** 5,
    "eb": 1000 ** 6, "e": 1024 ** 6, "eib": 1024 ** 6,
}


def memory_to_kib(value: int | None, unit: str | None) -> int | None:
    """Convert a libvirt scaled integer to KiB, rounding up as libvirt does."""
    if value is None:
        return None
    factor = _UNITS.get((unit or "KiB").lower())
    if factor is None:
        raise XMLError(f"unknown memory unit {unit!r}")
    return -(-value * factor // 1024)


class OS(XMLObject):
    type = XMLProperty("./type")
    arch = XMLProperty("./type/@arch")
    machine = XMLProperty("./type/@machine")
    firmware = XMLProperty("./@firmware")
    loader = XMLProperty("./loader")
    kernel = XMLProperty("./kernel")
    initrd = XMLProperty("./initrd")
    cmdline = XMLProperty("./cmdline")
    boot_devs = XMLListProperty("./boot/@dev", doc="e.g. ['network', 'hd']")
    boot_menu = XMLProperty("./bootmenu/@enable", kind=bool_yesno)


class Features(XMLObject):
    acpi = XMLProperty("./acpi", kind=present)
    apic = XMLProperty("./apic", kind=present)
    pae = XMLProperty("./pae", kind=present)

    @property
    def names(self) -> list[str]:
        """Tag names of every feature present (known or not)."""
        el = self._node()
        return [] if el is None else [c.tag for c in el if isinstance(c.tag, str)]


class Disk(XMLObject):
    type = XMLProperty("./@type")
    device = XMLProperty("./@device")
    driver_name = XMLProperty("./driver/@name")
    driver_type = XMLProperty("./driver/@type")
    source_file = XMLProperty("./source/@file")
    source_dev = XMLProperty("./source/@dev")
    source_pool = XMLProperty("./source/@pool")
    source_volume = XMLProperty("./source/@volume")
    target_dev = XMLProperty("./target/@dev")
    target_bus = XMLProperty("./target/@bus")
    readonly = XMLProperty("./readonly", kind=present)
    boot_order = XMLProperty("./boot/@order", kind=integer)

    @property
    def source(self) -> str | None:
        """Whatever the source is, as a display string."""
        if self.source_pool or self.source_volume:
            return f"{self.source_pool}/{self.source_volume}"
        return self.source_file or self.source_dev


class Interface(XMLObject):
    """A guest NIC (``<interface type=...>``)."""

    type = XMLProperty("./@type")
    managed = XMLProperty("./@managed", kind=bool_yesno)
    trust_guest_rx_filters = XMLProperty("./@trustGuestRxFilters", kind=bool_yesno)
    mac = XMLProperty("./mac/@address", kind=mac_address)
    source_network = XMLProperty("./source/@network")
    source_portgroup = XMLProperty("./source/@portgroup")
    source_bridge = XMLProperty("./source/@bridge")
    source_dev = XMLProperty("./source/@dev")
    source_mode = XMLProperty("./source/@mode")
    source_path = XMLProperty("./source/@path", doc="vhostuser: the socket's path")
    vlan = XMLChild(Vlan, "./vlan")
    virtualport = XMLChild(VirtualPort, "./virtualport")
    bandwidth = XMLChild(Bandwidth, "./bandwidth")
    target_dev = XMLProperty("./target/@dev")
    model = XMLProperty("./model/@type")
    driver_name = XMLProperty("./driver/@name")
    driver_queues = XMLProperty("./driver/@queues", kind=integer)
    link_state = XMLProperty("./link/@state")
    mtu = XMLProperty("./mtu/@size", kind=integer)
    boot_order = XMLProperty("./boot/@order", kind=integer)
    alias = XMLProperty("./alias/@name")

    _SOURCE_PROPS = ("source_network", "source_portgroup", "source_bridge",
                     "source_dev", "source_mode", "source_path")
    _SOURCE_BY_TYPE = {
        "network": ("network", "portgroup"),
        "bridge": ("bridge",),
        "direct": ("dev", "mode"),
        "ethernet": (),
        "user": (),
    }

    # What `virsh domiflist` shows as Source: the first of these attributes on <source>, in
    # document order (network, bridge, macvtap/vdpa device, vhostuser socket path...).
    _DOMIFLIST_SOURCE = ("bridge", "dev", "network", "name", "path")

    @property
    def source(self) -> str | None:
        """The network, bridge, host device or socket this NIC attaches to, as virsh says it."""
        node = self._node()
        element = None if node is None else node.find("source")
        if element is None:
            return None
        for name, value in element.attrib.items():
            if name in self._DOMIFLIST_SOURCE:
                return value
        return None

    def set_source(self, type: str, **source: Any) -> "Interface":
        """Re-point the NIC, e.g. ``nic.set_source('bridge', bridge='br0')``.

        Changes ``type``, drops the source attributes that belonged to the
        previous type (and a virtualport of a different flavour is the
        caller's business), keeps everything else (MAC, model, unknown XML).
        Valid keywords: network, portgroup (type network); bridge (bridge);
        dev, mode (direct).
        """
        allowed = self._SOURCE_BY_TYPE.get(type)
        if allowed is None:
            raise XMLError(f"set_source supports types {sorted(self._SOURCE_BY_TYPE)}, not {type!r}")
        unknown = set(source) - set(allowed)
        if unknown:
            raise XMLError(f"interface type {type!r} takes source {list(allowed)}, not {sorted(unknown)}")
        for name in self._SOURCE_PROPS:
            setattr(self, name, None)
        self.type = type
        for key, value in source.items():
            setattr(self, f"source_{key}", value)
        return self


class CharDevice(XMLObject):
    """``<serial>`` / ``<console>``: only the basics are typed, the rest is kept."""

    type = XMLProperty("./@type")
    source_path = XMLProperty("./source/@path")
    target_type = XMLProperty("./target/@type")
    target_port = XMLProperty("./target/@port", kind=integer)


class Channel(XMLObject):
    """``<channel>``: a virtio-serial port, e.g. qemu-guest-agent's
    (``type='unix'``, target ``virtio`` named ``org.qemu.guest_agent.0``)."""

    type = XMLProperty("./@type")
    source_path = XMLProperty("./source/@path", doc="unix: libvirt picks one when absent")
    target_type = XMLProperty("./target/@type")
    target_name = XMLProperty("./target/@name")
    target_state = XMLProperty("./target/@state", doc="live XML: connected / disconnected")


class Graphics(XMLObject):
    """``<graphics>``. libvirt writes the address both as ``@listen`` and as
    ``<listen type='address' address=.../>``; ``passwd`` only appears in XML read with
    VIR_DOMAIN_XML_SECURE, which kvmweb never asks for (``without_secrets`` drops it anyway)."""

    type = XMLProperty("./@type")
    port = XMLProperty("./@port", kind=integer)
    autoport = XMLProperty("./@autoport", kind=bool_yesno)
    listen = XMLProperty("./@listen")
    listen_type = XMLProperty("./listen/@type")
    listen_address = XMLProperty("./listen/@address")
    passwd = XMLProperty("./@passwd")

    LOOPBACK = ("127.0.0.1", "::1", "localhost")
    ANY = ("0.0.0.0", "::", "")

    @property
    def address(self) -> str | None:
        """Where the display listens: an address, or None for a socket / no listener."""
        if self.listen_type in ("socket", "none"):
            return None
        found = self.listen_address or self.listen
        return "0.0.0.0" if found is None else found  # libvirt's default is all addresses

    @property
    def listens_everywhere(self) -> bool:
        return self.address in self.ANY

    def set_listen(self, address: str) -> "Graphics":
        self.listen = address
        self.listen_type = "address"
        self.listen_address = address
        return self


class Domain(XMLDoc):
    """A libvirt domain (VM) definition."""

    ROOT_TAG = "domain"

    type = XMLProperty("./@type")
    name = XMLProperty("./name")
    uuid = XMLProperty("./uuid")
    title = XMLProperty("./title")
    description = XMLProperty("./description")
    metadata = XMLRaw("./metadata")
    memory_value = XMLProperty("./memory", kind=integer)
    memory_unit = XMLProperty("./memory/@unit")
    current_memory_value = XMLProperty("./currentMemory", kind=integer)
    current_memory_unit = XMLProperty("./currentMemory/@unit")
    vcpu = XMLProperty("./vcpu", kind=integer)
    vcpu_placement = XMLProperty("./vcpu/@placement")
    vcpu_current = XMLProperty("./vcpu/@current", kind=integer)
    os = XMLChild(OS, "./os")
    features = XMLChild(Features, "./features")
    on_poweroff = XMLProperty("./on_poweroff")
    on_reboot = XMLProperty("./on_reboot")
    on_crash = XMLProperty("./on_crash")
    emulator = XMLProperty("./devices/emulator")
    disks = XMLChildList(Disk, "./devices/disk")
    interfaces = XMLChildList(Interface, "./devices/interface")
    graphics = XMLChildList(Graphics, "./devices/graphics")
    serials = XMLChildList(CharDevice, "./devices/serial")
    consoles = XMLChildList(CharDevice, "./devices/console")
    channels = XMLChildList(Channel, "./devices/channel")

    @property
    def memory(self) -> int | None:
        """Maximum memory in KiB (whatever unit the document uses)."""
        return memory_to_kib(self.memory_value, self.memory_unit)

    @memory.setter
    def memory(self, kib: int | None) -> None:
        self.memory_value = kib
        self.memory_unit = None if kib is None else "KiB"

    @property
    def current_memory(self) -> int | None:
        """Current (balloon) memory in KiB."""
        return memory_to_kib(self.current_memory_value, self.current_memory_unit)

    @current_memory.setter
    def current_memory(self, kib: int | None) -> None:
        self.current_memory_value = kib
        self.current_memory_unit = None if kib is None else "KiB"

    def without_secrets(self) -> "Domain":
        """Drop display passwords (never stored, never shown)."""
        for graphics in self.graphics:
            graphics.passwd = None
        return self

    def find_interface(self, mac: str) -> Interface | None:
        """The NIC with this MAC address (any case/separator), or None."""
        wanted = mac_address.format(mac, "Domain.find_interface")
        for nic in self.interfaces:
            if nic.mac == wanted:
                return nic
        return None
