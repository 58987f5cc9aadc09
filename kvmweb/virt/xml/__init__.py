"""Typed, declarative libvirt XML models (network and domain) over lxml.

    from kvmweb.virt.xml import Network, Domain, XMLError
    net = Network.from_xml(text); net.bridge_name = "virbr9"; net.to_xml()
"""

from .base import (XMLChild, XMLChildList, XMLDoc, XMLError, XMLListProperty,
                   XMLObject, XMLProperty, XMLRaw, bool_onoff, bool_yesno,
                   hex_integer, integer, ip_address, mac_address, present, safe_parse, string)
from .common import Bandwidth, BandwidthLimit, VirtualPort, Vlan, VlanTag
from .domain import (INTERFACE_TYPES, OS, CharDevice, Disk, Domain, Features,
                     Graphics, Interface, memory_to_kib)
from .network import (DHCP, DNS, FORWARD_MODES, IP, NAT, NETWORK_KINDS,
                      DHCPHost, DHCPRange, DNSForwarder, DNSHost, DNSSrv, DNSTxt,
                      Forward, ForwardAddress, ForwardInterface, Network,
                      PortGroup, Route)
from .storage import Pool, Volume

__all__ = [
    "XMLChild", "XMLChildList", "XMLDoc", "XMLError", "XMLListProperty", "XMLObject",
    "XMLProperty", "XMLRaw", "bool_onoff", "bool_yesno", "hex_integer", "integer", "ip_address",
    "mac_address", "present", "safe_parse", "string",
    "Bandwidth", "BandwidthLimit", "VirtualPort", "Vlan", "VlanTag",
    "INTERFACE_TYPES", "OS", "CharDevice", "Disk", "Domain", "Features", "Graphics",
    "Interface", "memory_to_kib",
    "DHCP", "DNS", "FORWARD_MODES", "IP", "NAT", "NETWORK_KINDS", "DHCPHost",
    "DHCPRange", "DNSForwarder", "DNSHost", "DNSSrv", "DNSTxt", "Forward",
    "ForwardAddress", "ForwardInterface", "Network", "PortGroup", "Route",
    "Pool", "Volume",
]
