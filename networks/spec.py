"""Network specs: virt-manager-like defaults, spec -> XML (typed XML layer), XML -> spec.

A spec is a plain dict (the fields of ``FIELDS``). ``apply(doc, spec)`` writes it into a
``kvmweb.virt.xml.Network`` document, so elements the form does not know survive an edit.
"""

import ipaddress

from kvmweb.virt.xml import Network

from . import choices
from .validation import parse_subnet

FIELDS = (
    "name", "kind", "bridge", "subnet", "gateway", "dhcp", "dhcp_start", "dhcp_end",
    "static_hosts", "ipv6_subnet", "ipv6_gateway", "dhcpv6", "dhcpv6_start", "dhcpv6_end",
    "dns_domain", "dns_hosts", "dns_forwarders", "forward_dev", "nat_port_start", "nat_port_end",
    "mtu", "portgroups", "devices", "pf", "tftp_root", "bootp_file", "bootp_server",
    "qos_inbound", "qos_outbound", "start", "autostart",
)


def _used_networks(facts):
    used = []
    for net in facts.networks:
        used += [ipaddress.ip_network(s, strict=False) for s in net.get("subnets") or []]
    for iface in facts.interfaces.values():
        for addr in iface.get("addresses") or []:
            used.append(ipaddress.ip_interface(f"{addr['address']}/{addr['prefixlen']}").network)
        for route in iface.get("routes") or []:
            if route.get("dst", "default") != "default":
                used.append(ipaddress.ip_network(route["dst"], strict=False))
    return [n for n in used if n.version == 4]


def next_free_subnet(facts):
    """The first 192.168.X.0/24 (X from 100, like virt-manager) overlapping nothing on the host."""
    used = _used_networks(facts)
    candidates = [f"192.168.{x}.0/24" for x in range(100, 255)]
    candidates += [f"10.{x}.{y}.0/24" for x in range(100, 255) for y in range(0, 255, 7)]
    for text in candidates:
        net = ipaddress.ip_network(text)
        if not any(net.overlaps(u) for u in used):
            return str(net)
    return ""


def default_range(net):
    """Upper half of the subnet, virt-manager style: .128–.254 for a /24."""
    if net.version == 6:
        return str(net.network_address + 0x100), str(net.network_address + 0x1ff)
    size = net.num_addresses
    return str(net.network_address + size // 2), str(net.broadcast_address - 1)


def with_defaults(spec, facts):
    """A copy of ``spec`` with every unset option filled like virt-manager would."""
    spec = {key: spec.get(key) for key in FIELDS} | {k: v for k, v in spec.items() if k not in FIELDS}
    spec["kind"] = spec.get("kind") or choices.NAT
    for key, default in (("start", True), ("autostart", True)):
        if spec.get(key) is None:
            spec[key] = default
    for key in ("static_hosts", "dns_hosts", "dns_forwarders", "portgroups", "devices"):
        spec[key] = list(spec.get(key) or [])
    if spec["kind"] not in choices.MANAGED:
        return spec
    if spec.get("subnet") is None:
        spec["subnet"] = next_free_subnet(facts)
    if spec.get("dhcp") is None:
        spec["dhcp"] = True
    if spec.get("dns_domain") is None:
        spec["dns_domain"] = spec.get("name") or ""
    _fill_ip(spec, "subnet", "gateway", "dhcp", "dhcp_start", "dhcp_end", 4)
    _fill_ip(spec, "ipv6_subnet", "ipv6_gateway", "dhcpv6", "dhcpv6_start", "dhcpv6_end", 6)
    return spec


def _fill_ip(spec, subnet, gateway, dhcp, start, end, version):
    try:
        net = parse_subnet(spec.get(subnet), version)
    except ValueError:
        return  # validation reports it
    if not spec.get(gateway):
        spec[gateway] = str(net.network_address + 1)
    if spec.get(dhcp) and not spec.get(start) and not spec.get(end):
        spec[start], spec[end] = default_range(net)


# -- spec -> XML ------------------------------------------------------------------

def build(spec):
    """A new network document from a validated spec."""
    doc = Network.new(name=spec["name"])
    apply(doc, spec)
    return doc


def apply(doc, spec, iface_kind=""):
    """Write the spec's settings into ``doc`` (an existing document keeps what we don't set)."""
    kind = spec["kind"]
    _apply_forward(doc, spec)
    if kind in choices.MANAGED:
        doc.bridge_name = spec.get("bridge") or doc.bridge_name
        if doc.stp is None:
            doc.stp, doc.delay = True, 0
        doc.domain_name = spec.get("dns_domain") or None
    elif kind == choices.BRIDGE:
        doc.bridge_name = spec["bridge"]
        if iface_kind in ("ovs", "openvswitch"):
            doc.virtualport.type = "openvswitch"
    else:
        doc.bridge_name = None
    doc.mtu = spec.get("mtu")
    _apply_ip(doc, spec, 4)
    _apply_ip(doc, spec, 6)
    _apply_dns(doc, spec)
    _apply_portgroups(doc, spec)
    _apply_qos(doc, spec)
    return doc


def _apply_forward(doc, spec):
    kind = spec["kind"]
    if kind == choices.ISOLATED:
        doc.forward = None
        return
    fwd = doc.forward
    new_mode = fwd.mode != choices.FORWARD_MODE[kind]
    fwd.mode = choices.FORWARD_MODE[kind]
    fwd.dev = spec.get("forward_dev") or None
    fwd.interfaces.clear()
    for dev in spec.get("devices") or []:
        fwd.interfaces.add(dev=dev)
    if kind == choices.HOSTDEV or kind in choices.MACVTAP:
        fwd.pf_dev = spec.get("pf") or None  # a VF pool given as <address> list has no PF
    if kind == choices.HOSTDEV and new_mode:
        # A new pool: libvirt binds the VFs to vfio itself. An existing one keeps its choice.
        fwd.managed, fwd.driver_name = True, "vfio"
    if kind == choices.NAT and spec.get("nat_port_start"):
        fwd.nat.port_start, fwd.nat.port_end = spec["nat_port_start"], spec["nat_port_end"]
    elif fwd.nat.exists:
        fwd.nat.port_start = fwd.nat.port_end = None


def _apply_ip(doc, spec, version):
    keys = ("subnet", "gateway", "dhcp", "dhcp_start", "dhcp_end") if version == 4 else (
        "ipv6_subnet", "ipv6_gateway", "dhcpv6", "dhcpv6_start", "dhcpv6_end")
    subnet, gateway, dhcp, start, end = (spec.get(k) for k in keys)
    ip = doc.ip_for(version)
    if not subnet or spec["kind"] not in choices.MANAGED:
        if ip is not None:
            doc.ips.remove(ip)
        return
    if ip is None:
        ip = doc.ips.add(family="ipv6") if version == 6 else doc.ips.add()
    net = ipaddress.ip_network(subnet)
    if ip.interface is None or str(ip.interface) != f"{gateway}/{net.prefixlen}":
        ip.update(address=gateway, prefix=net.prefixlen, netmask=None)  # else keep its spelling
    hosts = (spec.get("static_hosts") or []) if version == 4 else []
    if version == 4:
        ip.tftp_root = spec.get("tftp_root") or None
    if not dhcp and not hosts:
        ip.dhcp = None
        return
    _apply_ranges(ip.dhcp.ranges, start, end) if dhcp else ip.dhcp.ranges.clear()
    if version == 4:
        # Hosts matched by DUID or name only are not in the form; they stay as they are.
        _reconcile([h for h in ip.dhcp.hosts if h.mac and h.ip], ip.dhcp.hosts, hosts,
                   key=lambda h: h.mac, wanted_key=lambda w: w["mac"].lower(),
                   same=lambda h, w: (str(h.ip), h.name or "") == (w["ip"], w.get("name") or ""),
                   add=lambda w: ip.dhcp.hosts.add(mac=w["mac"], ip=w["ip"],
                                                   name=w.get("name") or None))
        ip.dhcp.bootp_file = spec.get("bootp_file") or None
        ip.dhcp.bootp_server = (spec.get("bootp_server") or None) if spec.get("bootp_file") else None


def _apply_dns(doc, spec):
    if spec["kind"] not in choices.MANAGED:
        return
    dns = doc.dns
    _reconcile(list(dns.hosts), dns.hosts, spec.get("dns_hosts") or [],
               key=lambda h: str(h.ip), wanted_key=lambda w: str(w["ip"]),
               same=lambda h, w: list(h.hostnames) == list(w["hostnames"]),
               add=lambda w: dns.hosts.add(ip=w["ip"], hostnames=w["hostnames"]))
    dns.forwarders.clear()
    for fwd in spec.get("dns_forwarders") or []:
        dns.forwarders.add(addr=fwd.get("addr") or None, domain=fwd.get("domain") or None)


def _reconcile(current, children, wanted, key, wanted_key, same, add):
    """Make the elements ``current`` (part of ``children``) match the ``wanted`` dicts.

    An element whose key is still wanted and whose form-visible values are unchanged is left
    alone, so what the form does not show (leases, bandwidth, virtualport, trunk tags…)
    survives an edit; a changed one is replaced, a dropped one removed, a new one appended.
    """
    wanted_by_key = {wanted_key(w): w for w in wanted}
    kept = set()
    for child in current:
        w = wanted_by_key.get(key(child))
        if w is not None and same(child, w) and key(child) not in kept:
            kept.add(key(child))
        else:
            children.remove(child)
    for k, w in wanted_by_key.items():
        if k not in kept:
            add(w)


def _apply_ranges(ranges, start, end):
    """The form edits the first DHCP range; further ranges (imported XML) are kept."""
    first = ranges[0] if len(ranges) else None
    if first is None:
        ranges.add(start=start, end=end)
    elif (str(first.start), str(first.end)) != (str(start), str(end)):
        first.update(start=start, end=end)


def _portgroup_vlan(group):
    return group.vlan.ids[0] if group.vlan.exists and group.vlan.ids else None


def _apply_portgroups(doc, spec):
    def add(w):
        pg = doc.portgroups.add(name=w["name"], default=True if w.get("default") else None)
        if w.get("vlan") is not None:
            pg.vlan.tags.add(id=w["vlan"])

    _reconcile(list(doc.portgroups), doc.portgroups, spec.get("portgroups") or [],
               key=lambda g: g.name, wanted_key=lambda w: w["name"],
               same=lambda g, w: (bool(g.default), _portgroup_vlan(g))
               == (bool(w.get("default")), w.get("vlan")),
               add=add)


def _apply_qos(doc, spec):
    doc.bandwidth.inbound.average = spec.get("qos_inbound") or None
    doc.bandwidth.outbound.average = spec.get("qos_outbound") or None


# -- XML -> spec (edit forms) --------------------------------------------------------

def from_xml(doc):
    """The spec that describes ``doc`` as far as the form knows it."""
    fwd = doc.forward
    kind = doc.kind
    spec = {
        "name": doc.name, "kind": kind, "bridge": doc.bridge_name or "",
        "forward_dev": (fwd.dev or "") if kind in ("nat", "route", "open") else "",
        "devices": (fwd.devs or ([fwd.dev] if fwd.dev else [])) if kind in choices.MACVTAP
        else [],
        "pf": fwd.pf_dev or "",
        "vf_addresses": [a.pci_name for a in fwd.addresses], "mtu": doc.mtu, "dns_domain": doc.domain_name or "",
        "nat_port_start": fwd.nat.port_start if fwd.exists else None,
        "nat_port_end": fwd.nat.port_end if fwd.exists else None,
        "dns_hosts": [{"ip": str(h.ip), "hostnames": h.hostnames} for h in doc.dns.hosts],
        "dns_forwarders": [{"addr": str(f.addr) if f.addr else "", "domain": f.domain or ""}
                           for f in doc.dns.forwarders],
        "portgroups": [{"name": g.name, "default": bool(g.default), "vlan": _portgroup_vlan(g)}
                       for g in doc.portgroups],
        "qos_inbound": doc.bandwidth.inbound.average, "qos_outbound": doc.bandwidth.outbound.average,
        "static_hosts": [], "subnet": "", "ipv6_subnet": "", "dhcp": False, "dhcpv6": False,
    }
    _ip_to_spec(doc.ip_for(4), spec, ("subnet", "gateway", "dhcp", "dhcp_start", "dhcp_end"))
    _ip_to_spec(doc.ip_for(6), spec,
                ("ipv6_subnet", "ipv6_gateway", "dhcpv6", "dhcpv6_start", "dhcpv6_end"))
    ip4 = doc.ip_for(4)
    if ip4 is not None:
        spec["static_hosts"] = [{"mac": h.mac, "ip": str(h.ip), "name": h.name or ""}
                                for h in ip4.dhcp.hosts if h.mac and h.ip]
        spec["tftp_root"] = ip4.tftp_root or ""
        spec["bootp_file"] = ip4.dhcp.bootp_file or ""
        spec["bootp_server"] = str(ip4.dhcp.bootp_server or "")
    return spec


def _ip_to_spec(ip, spec, keys):
    if ip is None or ip.interface is None:
        return
    subnet, gateway, dhcp, start, end = keys
    spec[subnet], spec[gateway] = str(ip.network), str(ip.address)
    ranges = list(ip.dhcp.ranges)
    spec[dhcp] = bool(ranges)
    if ranges:
        spec[start], spec[end] = str(ranges[0].start), str(ranges[0].end)
