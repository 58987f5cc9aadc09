"""Pure validation of a network spec against what we know of its host (no I/O here).

A *spec* is a plain dict of what the user asked for (see ``networks.spec.FIELDS``); *facts* are
the host's networks and interfaces as the last sync stored them (``networks.facts.load``).
``validate(spec, facts)`` returns ``(errors, warnings)``: errors map a field to messages.
"""

import ipaddress
import re
from collections import defaultdict
from dataclasses import dataclass, field

from . import choices

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,49}")
_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
# The kernel refuses interface names that are empty, "." or "..", longer than 15 bytes, or
# contain "/", ":" or whitespace (dev_valid_name); libvirt treats "%" as a template.
_BAD_IFNAME_CHARS = re.compile(r"[/:%\s]")


@dataclass
class HostFacts:
    """What the read model says about one host (and, for warnings, the others)."""

    host_name: str = ""
    networks: list = field(default_factory=list)      # [{"name", "bridge", "subnets"}]
    interfaces: dict = field(default_factory=dict)    # name -> {"kind", "addresses"}
    elsewhere: list = field(default_factory=list)     # [{"host", "name", "subnets"}]


class Problems:
    def __init__(self):
        self.errors = defaultdict(list)
        self.warnings = []

    def add(self, name, message):
        self.errors[name].append(message)

    def __bool__(self):
        return bool(self.errors)


# -- single values -------------------------------------------------------------

def parse_subnet(text, version=4):
    """An ip_network from CIDR or address/netmask text; ValueError with a message users read."""
    text = (text or "").strip()
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(f"{text!r} is not a subnet: give CIDR like 192.168.100.0/24 "
                             f"or address/netmask like 192.168.100.0/255.255.255.0 ({exc})") from None
        raise ValueError(f"{text} has host bits set: did you mean {loose}?") from None
    if net.version != version:
        raise ValueError(f"{text} is not an IPv{version} subnet")
    limit = 30 if version == 4 else 126
    if net.prefixlen > limit:
        raise ValueError(f"/{net.prefixlen} leaves no room for a gateway and guests "
                         f"(use /{limit} or larger)")
    return net


def parse_ip(text):
    try:
        return ipaddress.ip_address((text or "").strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address") from None


def mac_problem(mac):
    """Why a MAC cannot be a guest's (None when fine)."""
    mac = (mac or "").strip().lower().replace("-", ":")
    if not _MAC.fullmatch(mac):
        return f"{mac!r} is not a MAC address like 52:54:00:12:34:56"
    if int(mac[:2], 16) & 1:
        return f"{mac} is a multicast MAC (first byte odd); guests need a unicast one"
    if mac == "00:00:00:00:00:00":
        return "00:00:00:00:00:00 is not a usable MAC"
    return None


def name_problem(name):
    if not name:
        return "give the network a name"
    if not _NAME.fullmatch(name):
        return ("use up to 50 letters, digits, '_', '.', '+' or '-', starting with a letter or "
                "digit (libvirt refuses '/' and names are used in file names on the host)")
    return None


def ifname_problem(name):
    if len(name.encode()) > 15:
        return f"{name!r} is {len(name.encode())} characters; the kernel allows at most 15"
    if name in (".", "..") or _BAD_IFNAME_CHARS.search(name):
        return f"{name!r}: the kernel refuses interface names with '/', ':', '%' or spaces"
    return None


def usable(net, address):
    """Why ``address`` cannot be a host address in ``net`` (None when it can)."""
    if address not in net:
        return f"{address} is not inside {net}"
    if net.version == 4 and address == net.network_address:
        return f"{address} is the network address of {net}"
    if net.version == 4 and address == net.broadcast_address:
        return f"{address} is the broadcast address of {net}"
    if net.version == 6 and address == net.network_address:
        return f"{address} is the subnet-router anycast address of {net}"
    return None


# -- address plan --------------------------------------------------------------

def check_gateway(p, name, net, text):
    try:
        gateway = parse_ip(text)
    except ValueError as exc:
        p.add(name, str(exc))
        return None
    problem = usable(net, gateway)
    if problem:
        p.add(name, f"the gateway must be a host address inside the subnet: {problem}")
        return None
    return gateway


def check_range(p, name, net, gateway, start_text, end_text):
    try:
        start, end = parse_ip(start_text), parse_ip(end_text)
    except ValueError as exc:
        p.add(name, str(exc))
        return None
    for address in (start, end):
        problem = usable(net, address)
        if problem:
            p.add(name, f"the DHCP range must lie inside the subnet: {problem}")
            return None
    if start > end:
        p.add(name, f"the DHCP range is reversed: {start} comes after {end}")
        return None
    if gateway is not None and start <= gateway <= end:
        p.add(name, f"the DHCP range {start}–{end} contains the gateway {gateway}; "
                    "start it after the gateway")
        return None
    return start, end


def check_static_hosts(p, hosts, net, gateway, name="static_hosts"):
    macs, ips = set(), set()
    for i, host in enumerate(hosts or [], 1):
        where = f"static host {i}"
        problem = mac_problem(host.get("mac"))
        mac = (host.get("mac") or "").strip().lower().replace("-", ":")
        if problem:
            p.add(name, f"{where}: {problem}")
        elif mac in macs:
            p.add(name, f"{where}: MAC {mac} is listed twice")
        macs.add(mac)
        try:
            ip = parse_ip(host.get("ip"))
        except ValueError as exc:
            p.add(name, f"{where}: {exc}")
            continue
        problem = usable(net, ip) if net else "the network has no IPv4 subnet"
        if problem:
            p.add(name, f"{where}: the address must be inside the subnet: {problem}")
        elif ip == gateway:
            p.add(name, f"{where}: {ip} is the gateway's address")
        elif ip in ips:
            p.add(name, f"{where}: {ip} is given to two hosts")
        ips.add(ip)
        if host.get("name") and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]{0,62}", host["name"]):
            p.add(name, f"{where}: {host['name']!r} is not a host name")


def check_overlaps(p, name, net, facts, own_bridge=""):
    """Subnets on this host must not overlap; other hosts' overlapping ones only warn."""
    for other in facts.networks:
        for text in other.get("subnets") or []:
            theirs = ipaddress.ip_network(text, strict=False)
            if theirs.version == net.version and theirs.overlaps(net):
                p.add(name, f"{net} overlaps network '{other['name']}' ({theirs}) on this host; "
                            "pick another subnet")
    for ifname, iface in facts.interfaces.items():
        if ifname == own_bridge:
            continue
        for addr in iface.get("addresses") or []:
            mine = ipaddress.ip_interface(f"{addr['address']}/{addr['prefixlen']}")
            if mine.is_loopback or mine.is_link_local or mine.version != net.version:
                continue
            if mine.network.overlaps(net):
                p.add(name, f"{net} overlaps the host's own address {mine} on {ifname}")
        for route in iface.get("routes") or []:
            if route.get("dst", "default") == "default":
                continue
            theirs = ipaddress.ip_network(route["dst"], strict=False)
            if theirs.version == net.version and theirs.overlaps(net):
                via = f" via {route['gateway']}" if route.get("gateway") else ""
                p.add(name, f"{net} overlaps the host's route to {theirs}{via} on {ifname}")
    for other in facts.elsewhere:
        for text in other.get("subnets") or []:
            theirs = ipaddress.ip_network(text, strict=False)
            if theirs.version == net.version and theirs.overlaps(net):
                p.warnings.append(f"{net} overlaps network '{other['name']}' ({theirs}) on host "
                                  f"{other['host']}: fine while guests never route between them")


def check_ipv4(p, spec, facts):
    if not spec.get("subnet"):
        if spec["kind"] == choices.ROUTE:
            p.add("subnet", "a routed network needs a subnet to route")
        for key in ("dhcp_start", "dhcp_end"):
            if spec.get(key) and spec.get("dhcp"):
                p.add("subnet", "DHCP needs an IPv4 subnet")
                break
        if spec.get("static_hosts"):
            p.add("static_hosts", "static hosts need an IPv4 subnet")
        return
    try:
        net = parse_subnet(spec["subnet"], 4)
    except ValueError as exc:
        p.add("subnet", str(exc))
        return
    gateway = check_gateway(p, "gateway", net, spec.get("gateway"))
    if spec.get("dhcp"):
        check_range(p, "dhcp_start", net, gateway, spec.get("dhcp_start"), spec.get("dhcp_end"))
    check_static_hosts(p, spec.get("static_hosts"), net, gateway)
    check_overlaps(p, "subnet", net, facts, spec.get("own_bridge", ""))
    if spec.get("bootp_server"):
        try:
            parse_ip(spec["bootp_server"])
        except ValueError as exc:
            p.add("bootp_server", str(exc))


def check_ipv6(p, spec, facts):
    if not spec.get("ipv6_subnet"):
        return
    try:
        net = parse_subnet(spec["ipv6_subnet"], 6)
    except ValueError as exc:
        p.add("ipv6_subnet", str(exc))
        return
    gateway = check_gateway(p, "ipv6_gateway", net, spec.get("ipv6_gateway"))
    if spec.get("dhcpv6"):
        if net.prefixlen != 64:
            p.add("ipv6_subnet", "DHCPv6 needs a /64 (libvirt's dnsmasq refuses other prefixes)")
        check_range(p, "dhcpv6_start", net, gateway, spec.get("dhcpv6_start"),
                    spec.get("dhcpv6_end"))
    check_overlaps(p, "ipv6_subnet", net, facts, spec.get("own_bridge", ""))


# -- the host side -------------------------------------------------------------

def check_name(p, spec, facts):
    problem = name_problem(spec.get("name"))
    if problem:
        p.add("name", problem)
    elif any(n["name"] == spec["name"] for n in facts.networks):
        p.add("name", f"a network named {spec['name']!r} already exists on {facts.host_name}")


def check_bridge(p, spec, facts):
    bridge = spec.get("bridge") or ""
    if spec["kind"] == choices.BRIDGE:
        if not bridge:
            p.add("bridge", "name the host bridge guests should join, e.g. br0")
            return
        iface = facts.interfaces.get(bridge)
        if iface is None:
            p.add("bridge", f"{facts.host_name} has no interface {bridge!r} (sync the host if "
                            "you just created it)")
        elif iface.get("kind") not in choices.BRIDGE_IFACE_KINDS:
            p.add("bridge", f"{bridge} is a {iface.get('kind')} interface, not a bridge")
        return
    if not bridge:
        return
    if spec["kind"] not in choices.MANAGED:
        p.add("bridge", f"a {spec['kind']} network has no bridge of its own")
        return
    problem = ifname_problem(bridge)
    if problem:
        p.add("bridge", problem)
    elif bridge in facts.interfaces and bridge != spec.get("own_bridge"):
        p.add("bridge", f"{bridge} already exists on {facts.host_name}; leave the field empty "
                        "and libvirt picks a free virbrN")
    elif any(n.get("bridge") == bridge for n in facts.networks):
        p.add("bridge", f"network {[n['name'] for n in facts.networks if n.get('bridge') == bridge][0]!r} "
                        f"already uses bridge {bridge}")


def bridge_port_refusal(host_name, dev, master):
    """Why macvtap cannot go on ``dev`` when it is already a port of bridge ``master``, and
    what to use instead (the kernel answers "Device or resource busy" and the VM stays off)."""
    return (f"{dev} is a port of bridge {master} on {host_name}: macvtap on it fails with "
            f"'Device or resource busy' and the VM stays shut off. Use the bridge instead (a "
            f"bridge NIC or network on {master}: guests get LAN addresses and, unlike macvtap, "
            f"can talk to {host_name}), or put the macvtap on {master}.")


def check_device(p, name, dev, facts, what):
    if dev and dev not in facts.interfaces:
        known = ", ".join(sorted(n for n, i in facts.interfaces.items()
                                 if i.get("kind") not in ("loopback", "tun/tap", "macvtap")))
        p.add(name, f"{facts.host_name} has no {what} {dev!r} (it has: {known or 'none known'})")


def check_forwarding(p, spec, facts):
    kind = spec["kind"]
    if spec.get("forward_dev"):
        if kind not in (choices.NAT, choices.ROUTE, choices.OPEN):
            p.add("forward_dev", "only NAT, routed and open networks forward through one device")
        check_device(p, "forward_dev", spec["forward_dev"], facts, "device")
    # libvirt accepts a pool as host devices, as an SR-IOV PF (its VFs), or as VF PCI
    # addresses (imported XML only: the form has no field for them).
    pooled = bool(spec.get("pf") or spec.get("vf_addresses"))
    if kind in choices.MACVTAP:
        if not spec.get("devices") and not pooled:
            p.add("devices", "choose at least one host device for the macvtap pool")
        for dev in spec.get("devices") or []:
            check_device(p, "devices", dev, facts, "device")
            master = facts.interfaces.get(dev, {}).get("master")
            if master and facts.interfaces.get(master, {}).get("kind") in choices.BRIDGE_IFACE_KINDS:
                p.add("devices", bridge_port_refusal(facts.host_name, dev, master))
    elif spec.get("devices"):
        p.add("devices", "a device pool is only for macvtap networks")
    if kind == choices.HOSTDEV and not pooled:
        p.add("pf", "name the SR-IOV physical function (PF) whose VFs form the pool")
    if kind in (choices.HOSTDEV, *choices.MACVTAP):
        check_device(p, "pf", spec.get("pf"), facts, "PF")
    elif spec.get("pf"):
        p.add("pf", "only hostdev and macvtap networks take a PF")
    if spec.get("nat_port_start") or spec.get("nat_port_end"):
        start, end = spec.get("nat_port_start"), spec.get("nat_port_end")
        if kind != choices.NAT:
            p.add("nat_port_start", "a NAT port range is only for NAT networks")
        elif not (start and end and 1 <= start <= end <= 65535):
            p.add("nat_port_start", "give a NAT port range with 1 ≤ start ≤ end ≤ 65535")


def check_options(p, spec):
    kind = spec["kind"]
    if kind not in choices.MANAGED:
        for key in ("subnet", "ipv6_subnet", "static_hosts", "dns_hosts", "dns_forwarders",
                    "tftp_root", "bootp_file"):
            if spec.get(key):
                p.add(key, f"a {kind} network has no addresses, DHCP or DNS of its own: "
                           "guests use the LAN's")
    mtu = spec.get("mtu")
    if mtu is not None and not 68 <= mtu <= 65535:
        p.add("mtu", "the MTU must be between 68 and 65535")
    names = set()
    for i, group in enumerate(spec.get("portgroups") or [], 1):
        if not group.get("name") or group["name"] in names:
            p.add("portgroups", f"portgroup {i}: give each portgroup its own name")
        names.add(group.get("name"))
        vlan = group.get("vlan")
        if vlan is not None:
            if not 0 <= vlan <= 4095:
                p.add("portgroups", f"portgroup {i}: VLAN tags are 0–4095")
            elif kind not in (choices.BRIDGE, choices.HOSTDEV, choices.MACVTAP_PASSTHROUGH):
                p.add("portgroups", f"portgroup {i}: libvirt supports VLAN tags only on Open "
                                    "vSwitch bridges, hostdev and passthrough networks")
    if sum(1 for g in spec.get("portgroups") or [] if g.get("default")) > 1:
        p.add("portgroups", "only one portgroup can be the default")
    for i, host in enumerate(spec.get("dns_hosts") or [], 1):
        try:
            parse_ip(host.get("ip"))
        except ValueError as exc:
            p.add("dns_hosts", f"DNS host {i}: {exc}")
        if not host.get("hostnames"):
            p.add("dns_hosts", f"DNS host {i}: give at least one host name")
    for i, fwd in enumerate(spec.get("dns_forwarders") or [], 1):
        if not fwd.get("addr") and not fwd.get("domain"):
            p.add("dns_forwarders", f"forwarder {i}: give an address, a domain or both")
        if fwd.get("addr"):
            try:
                parse_ip(fwd["addr"])
            except ValueError as exc:
                p.add("dns_forwarders", f"forwarder {i}: {exc}")


def validate(spec, facts, creating=True):
    """Every rule; returns (errors: {field: [messages]}, warnings: [messages])."""
    p = Problems()
    if spec.get("kind") not in choices.KINDS:
        p.add("kind", f"choose one of: {', '.join(choices.KINDS)}")
        return dict(p.errors), p.warnings
    if creating:
        check_name(p, spec, facts)
    check_bridge(p, spec, facts)
    check_forwarding(p, spec, facts)
    check_options(p, spec)
    if spec["kind"] in choices.MANAGED:
        check_ipv4(p, spec, facts)
        check_ipv6(p, spec, facts)
    return dict(p.errors), p.warnings
