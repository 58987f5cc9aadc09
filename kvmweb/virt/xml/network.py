"""libvirt network XML (https://libvirt.org/formatnetwork.html)."""

from __future__ import annotations

import ipaddress

from .base import (XMLChild, XMLChildList, XMLDoc, XMLListProperty, XMLObject,
                   XMLProperty, XMLRaw, bool_onoff, bool_yesno, hex_integer, integer,
                   ip_address, mac_address)
from .common import Bandwidth, VirtualPort, Vlan

__all__ = [
    "Network", "Forward", "ForwardInterface", "ForwardAddress", "NAT", "IP", "DHCP",
    "DHCPRange", "DHCPHost", "Route", "DNS", "DNSForwarder", "DNSHost", "DNSSrv",
    "DNSTxt", "PortGroup", "FORWARD_MODES", "NETWORK_KINDS",
]

FORWARD_MODES = ("nat", "route", "open", "bridge", "private", "vepa", "passthrough", "hostdev")
NETWORK_KINDS = ("nat", "route", "open", "isolated", "bridge", "macvtap-private",
                 "macvtap-vepa", "macvtap-bridge", "macvtap-passthrough", "hostdev")


# -- <forward> ---------------------------------------------------------------

class ForwardInterface(XMLObject):
    """``<interface dev='eth1'/>`` in a macvtap / hostdev pool."""

    dev = XMLProperty("./@dev")


class ForwardAddress(XMLObject):
    """``<address type='pci' domain='0' bus='4' slot='0' function='1'/>`` (hostdev pool)."""

    type = XMLProperty("./@type")
    domain = XMLProperty("./@domain", kind=hex_integer(4))
    bus = XMLProperty("./@bus", kind=hex_integer(2))
    slot = XMLProperty("./@slot", kind=hex_integer(2))
    function = XMLProperty("./@function", kind=hex_integer(1))

    @property
    def pci_name(self) -> str:
        """The kernel's spelling of the address, e.g. ``0000:04:10.1``."""
        return (f"{self.domain or 0:04x}:{self.bus or 0:02x}:{self.slot or 0:02x}."
                f"{self.function or 0:x}")


class NAT(XMLObject):
    """``<nat>``: public address range and port range used for masquerading."""

    ipv6 = XMLProperty("./@ipv6", kind=bool_yesno)
    address_start = XMLProperty("./address/@start", kind=ip_address)
    address_end = XMLProperty("./address/@end", kind=ip_address)
    port_start = XMLProperty("./port/@start", kind=integer)
    port_end = XMLProperty("./port/@end", kind=integer)


class Forward(XMLObject):
    """``<forward>``; absent means an isolated network, no mode means NAT."""

    mode = XMLProperty("./@mode")
    dev = XMLProperty("./@dev")
    managed = XMLProperty("./@managed", kind=bool_yesno)
    driver_name = XMLProperty("./driver/@name")
    pf_dev = XMLProperty("./pf/@dev")
    nat = XMLChild(NAT, "./nat")
    interfaces = XMLChildList(ForwardInterface, "./interface")
    addresses = XMLChildList(ForwardAddress, "./address")

    @property
    def devs(self) -> list[str]:
        return [i.dev for i in self.interfaces]


# -- <ip> / <dhcp> -----------------------------------------------------------

class DHCPRange(XMLObject):
    """``<range start end>`` with optional ``<lease expiry unit>``."""

    start = XMLProperty("./@start", kind=ip_address)
    end = XMLProperty("./@end", kind=ip_address)
    lease_expiry = XMLProperty("./lease/@expiry", kind=integer)
    lease_unit = XMLProperty("./lease/@unit")


class DHCPHost(XMLObject):
    """Static lease, matched by ``mac`` (IPv4) or ``id`` (DUID, IPv6) or ``name``."""

    mac = XMLProperty("./@mac", kind=mac_address)
    id = XMLProperty("./@id")
    name = XMLProperty("./@name")
    ip = XMLProperty("./@ip", kind=ip_address)
    lease_expiry = XMLProperty("./lease/@expiry", kind=integer)
    lease_unit = XMLProperty("./lease/@unit")


class DHCP(XMLObject):
    ranges = XMLChildList(DHCPRange, "./range")
    hosts = XMLChildList(DHCPHost, "./host")
    bootp_file = XMLProperty("./bootp/@file")
    bootp_server = XMLProperty("./bootp/@server", kind=ip_address)


class IP(XMLObject):
    """``<ip>``: the host side address of the network, with DHCP/TFTP."""

    family = XMLProperty("./@family")
    address = XMLProperty("./@address", kind=ip_address)
    netmask = XMLProperty("./@netmask", kind=ip_address)
    prefix = XMLProperty("./@prefix", kind=integer)
    local_ptr = XMLProperty("./@localPtr", kind=bool_yesno)
    tftp_root = XMLProperty("./tftp/@root")
    dhcp = XMLChild(DHCP, "./dhcp")

    @property
    def is_ipv6(self) -> bool:
        if self.family:
            return self.family == "ipv6"
        address = self.address
        return address is not None and address.version == 6

    @property
    def interface(self) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface | None:
        """Address with prefix, e.g. ``192.168.122.1/24`` (prefix/netmask defaults apply)."""
        address = self.address
        if address is None:
            return None
        if self.prefix is not None:
            return ipaddress.ip_interface(f"{address}/{self.prefix}")
        if self.netmask is not None:
            return ipaddress.ip_interface(f"{address}/{self.netmask}")
        if address.version == 6:
            return ipaddress.ip_interface(f"{address}/64")
        # libvirt's classful default for IPv4 without prefix or netmask.
        first = int(address) >> 24
        prefix = 8 if first < 128 else 16 if first < 192 else 24
        return ipaddress.ip_interface(f"{address}/{prefix}")

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        iface = self.interface
        return None if iface is None else iface.network


class Route(XMLObject):
    """``<route>``: a static route the host adds towards this network."""

    family = XMLProperty("./@family")
    address = XMLProperty("./@address", kind=ip_address)
    prefix = XMLProperty("./@prefix", kind=integer)
    netmask = XMLProperty("./@netmask", kind=ip_address)
    gateway = XMLProperty("./@gateway", kind=ip_address)
    metric = XMLProperty("./@metric", kind=integer)


# -- <dns> ---------------------------------------------------------------------

class DNSForwarder(XMLObject):
    addr = XMLProperty("./@addr", kind=ip_address)
    domain = XMLProperty("./@domain")


class DNSTxt(XMLObject):
    name = XMLProperty("./@name")
    value = XMLProperty("./@value")


class DNSHost(XMLObject):
    ip = XMLProperty("./@ip", kind=ip_address)
    hostnames = XMLListProperty("./hostname")


class DNSSrv(XMLObject):
    service = XMLProperty("./@service")
    protocol = XMLProperty("./@protocol")
    domain = XMLProperty("./@domain")
    target = XMLProperty("./@target")
    port = XMLProperty("./@port", kind=integer)
    priority = XMLProperty("./@priority", kind=integer)
    weight = XMLProperty("./@weight", kind=integer)


class DNS(XMLObject):
    enable = XMLProperty("./@enable", kind=bool_yesno)
    forward_plain_names = XMLProperty("./@forwardPlainNames", kind=bool_yesno)
    forwarders = XMLChildList(DNSForwarder, "./forwarder")
    txts = XMLChildList(DNSTxt, "./txt")
    srvs = XMLChildList(DNSSrv, "./srv")
    hosts = XMLChildList(DNSHost, "./host")


# -- <portgroup> ---------------------------------------------------------------

class PortGroup(XMLObject):
    name = XMLProperty("./@name")
    default = XMLProperty("./@default", kind=bool_yesno)
    trust_guest_rx_filters = XMLProperty("./@trustGuestRxFilters", kind=bool_yesno)
    vlan = XMLChild(Vlan, "./vlan")
    virtualport = XMLChild(VirtualPort, "./virtualport")
    bandwidth = XMLChild(Bandwidth, "./bandwidth")


# -- <network> -----------------------------------------------------------------

class Network(XMLDoc):
    """A libvirt virtual network definition.

    Declaration order below is the order in which missing elements are
    created (it follows libvirt's own formatting order).
    """

    ROOT_TAG = "network"

    ipv6 = XMLProperty("./@ipv6", kind=bool_yesno,
                       doc="Allow guest-to-guest IPv6 without an IPv6 address on the host")
    trust_guest_rx_filters = XMLProperty("./@trustGuestRxFilters", kind=bool_yesno)
    name = XMLProperty("./name")
    uuid = XMLProperty("./uuid")
    title = XMLProperty("./title")
    description = XMLProperty("./description")
    metadata = XMLRaw("./metadata")
    forward = XMLChild(Forward, "./forward")
    bridge_name = XMLProperty("./bridge/@name")
    stp = XMLProperty("./bridge/@stp", kind=bool_onoff)
    delay = XMLProperty("./bridge/@delay", kind=integer)
    mac_table_manager = XMLProperty("./bridge/@macTableManager")
    zone = XMLProperty("./bridge/@zone")
    mtu = XMLProperty("./mtu/@size", kind=integer)
    mac = XMLProperty("./mac/@address", kind=mac_address)
    domain_name = XMLProperty("./domain/@name")
    domain_local_only = XMLProperty("./domain/@localOnly", kind=bool_yesno)
    dns = XMLChild(DNS, "./dns")
    vlan = XMLChild(Vlan, "./vlan")
    bandwidth = XMLChild(Bandwidth, "./bandwidth")
    port_isolated = XMLProperty("./port/@isolated", kind=bool_yesno)
    ips = XMLChildList(IP, "./ip")
    routes = XMLChildList(Route, "./route")
    virtualport = XMLChild(VirtualPort, "./virtualport")
    portgroups = XMLChildList(PortGroup, "./portgroup")

    @property
    def forward_mode(self) -> str | None:
        """Effective forward mode: None when isolated, 'nat' for a bare ``<forward/>``."""
        forward = self.forward
        if not forward.exists:
            return None
        return forward.mode or "nat"

    @property
    def kind(self) -> str:
        """A human classification, one of :data:`NETWORK_KINDS`.

        ``mode='bridge'`` is a *host bridge* network when it names a bridge
        (``<bridge name='br0'/>``); without a bridge name it is a macvtap
        pool in bridge mode (``<interface dev=.../>`` or ``dev=`` given).
        """
        mode = self.forward_mode
        if mode is None:
            return "isolated"
        if mode in ("nat", "route", "open", "hostdev"):
            return mode
        if mode == "bridge":
            # A host (Linux or Open vSwitch) bridge is named by <bridge name>; an OVS
            # network always has one, its <virtualport type='openvswitch'/> says so too.
            ovs = self.virtualport.exists and self.virtualport.type == "openvswitch"
            return "bridge" if self.bridge_name or ovs else "macvtap-bridge"
        if mode in ("private", "vepa", "passthrough"):
            return f"macvtap-{mode}"
        return mode

    @property
    def is_managed_bridge(self) -> bool:
        """libvirt creates and owns the bridge device (nat/route/open/isolated)."""
        return self.kind in ("nat", "route", "open", "isolated")

    def ip_for(self, version: int) -> IP | None:
        """First ``<ip>`` of the given IP version (4 or 6)."""
        for ip in self.ips:
            if (6 if ip.is_ipv6 else 4) == version:
                return ip
        return None

    def portgroup(self, name: str) -> PortGroup | None:
        return self.portgroups.find(name=name)
