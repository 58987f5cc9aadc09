"""Can A reach B? Worked out from the read model alone (never a live host).

Each direction is a :class:`Flow`: can A *start* a connection to B (its replies included)? The
packets leave A's place (a private libvirt network is left through its host's IP stack, with
MASQUERADE for NAT; a LAN guest is already on its LAN), cross the LAN (or stay inside one host)
and enter B's place. Every rule that stops them adds a :class:`~reachability.places.Cause` with
the hop where it happens, in the words of libvirt (virbr0, MASQUERADE, macvtap, isolated,
forward dev). What the read model cannot tell (a LAN router's routes, a switch's hairpin mode)
is an assumption, listed with the answer.

The rules are libvirt's own firewall rules for its network kinds (nat: guests start, the rest
is rejected on the bridge; route/open: forwarded both ways, the LAN needs a route; isolated:
only the bridge and, when the network has an address, the host), the macvtap lower device that
never hairpins a guest's frames to its own host, and plain IPv4 routing.
"""

import ipaddress
from dataclasses import dataclass, field

from . import choices as C
from .places import (HOST, HOSTONLY, LAN, PRIVATE, UNKNOWN, Cause, Index, address_ends, fix,
                     host_end, iface_problem, nic_end, outside_end, subnets)


@dataclass
class Flow:
    direction: str
    ok: bool | None = True
    causes: list = field(default_factory=list)
    assumptions: list = field(default_factory=list)
    middle: list = field(default_factory=list)  # graph ids between A's hops and B's

    def block(self, cause):
        cause.direction = self.direction
        self.causes.append(cause)
        if cause.code in C.UNKNOWNS:
            self.ok = None if self.ok is not False else False
        elif cause.code not in C.WARNINGS:
            self.ok = False

    def assume(self, text, unknown=False):
        if text not in self.assumptions:
            self.assumptions.append(text)
        if unknown and self.ok:
            self.ok = None


def _name(ix, host):
    h = ix.hosts.get(host)
    return h.name if h else str(host)


def _net_label(net):
    return f"network {net.name} ({net.bridge})" if net.bridge else f"network {net.name}"


_subnets = subnets


def _in(ip, nets):
    if not ip:
        return None
    addr = ipaddress.ip_address(ip)
    return next((n for n in nets if addr in n), None)


# -- stages ---------------------------------------------------------------------------------

def _same_place(pa, pb):
    if pa.kind != pb.kind or pa.host != pb.host:
        return False
    if pa.kind == PRIVATE:
        return pa.net.name == pb.net.name
    if pa.kind == HOSTONLY:
        return pa.bridge == pb.bridge
    return pa.kind == HOST


def _overlap(ix, a, b, f):
    """B's address lies in a subnet that is local to A but is not where B is: A's packets for
    it go to A's own network, never to B (the same 192.168.122.0/24 on every host)."""
    if not b.ip:
        return
    pa = a.place
    local = []
    if pa.kind == PRIVATE:
        local = [(pa.net, n) for n in _subnets(pa.net)]
    elif pa.kind == HOST:
        local = [(net, n) for net in ix.model.networks if net.host == pa.host and net.bridge
                 and net.active for n in _subnets(net)]
    for net, subnet in local:
        if ipaddress.ip_address(b.ip) in subnet and not (
                b.place.kind == PRIVATE and b.place.host == net.host
                and b.place.net.name == net.name) and not (
                b.kind == "host" and b.host == net.host):  # the host's own address on it
            f.block(Cause(C.OVERLAPPING_SUBNETS,
                          f"{b.ip} is ambiguous from {a.label}: {subnet} is also "
                          f"{_name(ix, net.host)}'s own {_net_label(net)}, so packets for "
                          f"{b.label} go there instead.", f"net:{net.host}:{net.name}",
                          fixes=[fix(C.FIX_RENUMBER, f"Give {net.name} on {_name(ix, net.host)} "
                                     "a subnet no other network uses", network=net.pk)]))
            return


def _forwarding(ix, host, f):
    h = ix.hosts.get(host)
    if h is None:
        return
    if h.ip_forward is False:
        f.block(Cause(C.IP_FORWARDING_OFF, f"IP forwarding is off on {h.name} "
                      "(net.ipv4.ip_forward = 0): it routes nothing between its networks and "
                      "the LAN.", f"host:{host}",
                      fixes=[fix(C.FIX_IP_FORWARD, "Turn IP forwarding on",
                                 "sysctl -w net.ipv4.ip_forward=1 (libvirt turns it on when it "
                                 "starts a NAT or routed network)", host=host)]))
    elif h.ip_forward is None:
        f.assume(f"IP forwarding assumed on on {h.name} (libvirt turns it on when it starts a "
                 "NAT or routed network; kvmweb has not read it).")


def _rule_matches(text, src, dst):
    """Whether an nft rule (kvmweb.virt.firewall.render's text) that drops or rejects names
    the flow's source or destination address (``ip saddr X`` / ``ip daddr Y``)."""
    words = text.split()
    if not words or words[-1] not in ("drop", "reject") and "reject" not in words:
        return False
    named = False
    for key, ip in (("saddr", src), ("daddr", dst)):
        if key not in words:
            continue
        i = words.index(key)
        if i + 1 >= len(words) or words[i - 1] != "ip":
            continue
        value, negate = words[i + 1], False
        if value == "!=" and i + 2 < len(words):
            value, negate = words[i + 2], True
        try:
            net = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return False
        if not ip or (ipaddress.ip_address(ip) in net) == negate:
            return False
        named = True
    return named


def _firewall(ix, net, a, b, f, hop):
    for rule in net.firewall or []:
        if _rule_matches(rule.get("text", ""), a.ip, b.ip):
            f.block(Cause(C.FIREWALL_DROP,
                          f"A firewall rule of {_net_label(net)} on {_name(ix, net.host)} drops "
                          f"this traffic: {rule.get('table')} {rule.get('chain')}: "
                          f"{rule.get('text')}", hop,
                          fixes=[fix(C.FIX_FIREWALL, f"See the firewall rules of {net.name}",
                                     network=net.pk)]))
            return


def _host_and_own_guest(ix, host, guest, f):
    """The host and a guest of its own (both directions alike)."""
    p, hname = guest.place, _name(ix, host)
    if p.kind == PRIVATE:
        if not _subnets(p.net):
            f.block(Cause(C.ISOLATED, f"{_net_label(p.net)} has no IP address on {hname}: the "
                          f"host has no address on {p.bridge}, so it and {guest.label} cannot "
                          "talk (the guests on it see only each other).",
                          f"net:{host}:{p.net.name}",
                          fixes=[fix(C.FIX_SECOND_NIC, "Give the network an address, or the "
                                     "guest a second NIC on a network with one", network=p.net.pk)]))
        return
    if p.kind == HOSTONLY:
        if not any(a.get("family") == "inet" for a in ix.ifaces[(host, p.bridge)].addresses):
            f.block(Cause(C.ISOLATED, f"Bridge {p.bridge} has no uplink and no address on "
                          f"{hname}: its guests see only each other.", f"if:{host}:{p.bridge}"))
        return
    if p.lower:
        f.block(_macvtap_own_host(ix, guest))
        return
    if p.lan not in ix.host_addr[host]:
        f.assume(f"{hname} has no address on {p.lan or p.bridge}: assumed a router joins them.",
                 unknown=True)


def _no_gateway(ix, guest, host, f):
    """A guest of an isolated network and an address of its own host off that network (its
    LAN address): libvirt's dnsmasq gives isolated guests no default gateway (dhcp-option=3),
    so the guest has no route to that address: it neither reaches the host there nor answers
    packets sent from there (``ping -I <LAN address>`` from the host gets nothing back). Both
    directions; the host's address on the bridge works both ways."""
    p, nets = guest.place, _subnets(guest.place.net) if guest.place.net else []
    if p.kind != PRIVATE or p.net.forward_mode is not None or not nets or not host.address \
            or _in(host.address, nets):
        return
    on_bridge = next((str(i.ip) for i in ix.host_ips[host.host] if i.ip in nets[0]), None)
    where = f"its address on {p.bridge}" + (f" ({on_bridge})" if on_bridge else "")
    f.block(Cause(C.ISOLATED, f"{_net_label(p.net)} is isolated: libvirt's DHCP gives its guests "
                  f"no default gateway, so {guest.label} has no route to {host.address}: it "
                  f"talks with {_name(ix, host.host)} only at {where}, and neither reaches nor "
                  f"answers {host.address}.", f"net:{p.host}:{p.net.name}",
                  fixes=[fix(C.FIX_SECOND_NIC, f"Use {on_bridge or where}, or give "
                             f"{guest.label} a second NIC on a NAT or bridged network",
                             vm=_vm_pk(guest), host=p.host)]))


def _vm_pk(end):
    return end.vm.pk if end.vm is not None else None


def _free_bridge(ix, host):
    """A name for a new bridge on the host: br0, else br1, …"""
    return next(f"br{i}" for i in range(100) if (host, f"br{i}") not in ix.ifaces)


def bridge_fixes(ix, host, uplink, end):
    """Bridge over the uplink on ``host`` (the hostnet plan), then the end's NIC moved to it."""
    bridge = _free_bridge(ix, host)
    out = [fix(C.FIX_BRIDGE_OVER_UPLINK, f"Create bridge {bridge} over {uplink} on "
               f"{_name(ix, host)} (its address and routes move to {bridge})", host=host,
               iface=uplink, bridge=bridge)]
    if end.nic is not None:
        out.append(fix(C.FIX_MOVE_NIC, f"Then move {end.label}'s NIC to {bridge} (it gets a LAN "
                       "address)", vm=_vm_pk(end), mac=end.nic.mac, bridge=bridge))
    return out


def second_nic_fix(ix, end, title):
    """A second NIC for ``end``'s VM on an isolated network of its host that has an address
    (host ↔ guest), named when there is one."""
    net = next((n for n in ix.model.networks if n.host == end.host and n.forward_mode is None
                and n.kind == "isolated" and _subnets(n) and n.active), None)
    return fix(C.FIX_SECOND_NIC, title, f"on {net.name}" if net else "create an isolated "
               "network with an address first", vm=_vm_pk(end), host=end.host,
               network_name=net.name if net else None)


def _macvtap_own_host(ix, guest):
    p = guest.place
    hname = _name(ix, p.host)
    return Cause(C.MACVTAP_OWN_HOST,
                 f"{guest.label} uses macvtap on {p.lower} of {hname}: the lower device sends "
                 f"the guest's frames to the wire, never up to {hname} itself, so the guest and "
                 "its own host cannot talk (they reach everything else).",
                 f"if:{p.host}:{p.lower}",
                 fixes=[second_nic_fix(ix, guest, "Add a second NIC on an isolated or host-only "
                                       "network for host ↔ guest"),
                        *bridge_fixes(ix, p.host, p.lower, guest)])


def _host_lan(ix, host, other_lan):
    """The LAN segment host ``host`` talks on towards ``other_lan``: that one if it has an
    address there, else its first."""
    lans = ix.host_addr[host]
    if other_lan in lans:
        return other_lan
    return sorted(lans)[0] if lans else ""


def _private_uplink(ix, net, f, hops):
    """The LAN a NAT / routed network leaves its host on (its forward dev, else the default
    route's interface); a down uplink blocks."""
    dev = ix.uplink_of(net)
    if not dev:
        f.block(Cause(C.UNKNOWN_ATTACHMENT, f"{_name(ix, net.host)} has no default route and "
                      f"{net.name} no forward dev: kvmweb cannot tell where it leads.",
                      f"net:{net.host}:{net.name}"))
        return ""
    hops.append(f"if:{net.host}:{dev}")
    problem = iface_problem(ix, net.host, dev)
    if problem:
        f.block(problem)
    return ix.lan_of_device(net.host, dev)


def _route_via(ix, from_host, ip, subnet, to_host):
    """Whether ``from_host`` has a route for ``subnet`` (or ``ip``) through one of
    ``to_host``'s addresses."""
    targets = {str(i.ip) for i in ix.host_ips[to_host]}
    for _, r in ix.routes(from_host):
        dst, gw = r.get("dst"), r.get("gateway")
        if not dst or dst == "default" or gw not in targets:
            continue
        try:
            net = ipaddress.ip_network(dst, strict=False)
        except ValueError:
            continue
        if subnet.subnet_of(net) if subnet.version == net.version else False:
            return True
        if ip and ipaddress.ip_address(ip) in net:
            return True
    return False


def _routed_needs_route(ix, net, sender_host, sender_label, f, back):
    """Packets for a routed network on another host need a route through that host: on the
    sending kvmweb host (its table is known), else on the LAN router (not known: assumed
    missing, as on a LAN no one has told)."""
    subnet = next(iter(_subnets(net)), None)
    if subnet is None:
        return
    host_ip = next((ip for _, ip in sorted(ix.host_addr[net.host].values())), "?")
    if sender_host is not None and _route_via(ix, sender_host, None, subnet, net.host):
        return
    where = (f"{_name(ix, sender_host)} has" if sender_host is not None
             else f"{sender_label}'s LAN router is assumed to have")
    if sender_host is None:
        f.assume(f"the LAN router has no route to {subnet} (kvmweb does not manage it).")
    f.block(Cause(C.NO_ROUTE_BACK,
                  f"{_net_label(net)} on {_name(ix, net.host)} is routed (no NAT): {where} no "
                  f"route to {subnet} via {_name(ix, net.host)} ({host_ip}), so "
                  f"{'replies never come back' if back else 'packets for it go astray'}.",
                  f"net:{net.host}:{net.name}",
                  fixes=[fix(C.FIX_ADD_ROUTE, f"Add a route to {subnet} via {host_ip} on the "
                             "LAN router", f"ip route add {subnet} via {host_ip}",
                             network=net.pk)]))


def _enter_private(ix, a, b, src_stack, f):
    """Packets from A arriving at B's private network (through B's host)."""
    pb, net = b.place, b.place.net
    hop = f"net:{pb.host}:{net.name}"
    mode = net.forward_mode
    if mode is None:
        f.block(Cause(C.ISOLATED, f"{_net_label(net)} is isolated: libvirt lets its guests talk "
                      "to each other (and the host, when it has an address) and rejects "
                      "everything else.", hop,
                      fixes=[fix(C.FIX_SECOND_NIC, f"Give {b.label} a second NIC on a NAT or "
                                 "bridged network", vm=_vm_pk(b), host=pb.host)]))
        return
    if mode == "nat":
        if a.place.kind == PRIVATE and a.place.net.forward_mode == "nat":
            text = (f"{a.label} and {b.label} are behind different NAT networks: "
                    f"{_net_label(a.place.net)} on {_name(ix, a.place.host)} and "
                    f"{_net_label(net)} on {_name(ix, pb.host)}. Each is private to its host "
                    "(even with the same 192.168.122.0/24): MASQUERADE lets a guest start "
                    "connections out, and nothing can start one in.")
            code = C.NAT_DIFFERENT_NETWORKS
        else:
            text = (f"{b.label} is behind NAT ({_net_label(net)} on {_name(ix, pb.host)}): "
                    "MASQUERADE lets the guest start connections, but libvirt rejects new "
                    f"connections into {net.bridge or net.name} from {a.label}.")
            code = C.NAT_INBOUND
        host_ip = next((ip for _, ip in sorted(ix.host_addr[pb.host].values())), "HOST")
        f.block(Cause(code, text, hop, fixes=[
            *bridge_fixes(ix, pb.host, ix.uplink_of(net) or "eth0", b),
            fix(C.FIX_ROUTED_NETWORK, "Or use a routed network instead, and add its route on "
                "the LAN router", f"then on the LAN router: ip route add SUBNET via {host_ip}",
                host=pb.host)]))
        return
    # route / open: forwarded both ways; the sender must know the way.
    if src_stack != pb.host:
        _routed_needs_route(ix, net, src_stack, a.label, f, back=False)
    _forwarding(ix, pb.host, f)
    _firewall(ix, net, a, b, f, hop)


def can_start(ix, a, b, direction=C.FORWARD):
    """Whether A can start a connection to B (and get the replies)."""
    f = Flow(direction)
    pa, pb = a.place, b.place
    if UNKNOWN in (pa.kind, pb.kind):
        f.ok = None
        return f
    if _same_place(pa, pb):
        return f
    _overlap(ix, a, b, f)
    if pa.kind == HOST and pb.host == pa.host:
        _host_and_own_guest(ix, pa.host, b, f)
        _no_gateway(ix, b, a, f)  # the guest's replies to that address have no way either
        return f
    if pb.kind == HOST and pa.host == pb.host:
        _host_and_own_guest(ix, pb.host, a, f)
        _no_gateway(ix, a, b, f)
        return f

    # Leaving A.
    src_stack = None  # the host whose IP stack A's packets come out of (after NAT / routing)
    if pa.kind == PRIVATE:
        if pa.net.forward_mode is None:
            f.block(Cause(C.ISOLATED, f"{_net_label(pa.net)} is isolated: libvirt rejects "
                          f"everything its guests send beyond {pa.net.bridge or 'the bridge'} "
                          "(and the host).", f"net:{pa.host}:{pa.net.name}",
                          fixes=[fix(C.FIX_SECOND_NIC, f"Give {a.label} a second NIC on a NAT "
                                     "or bridged network", vm=_vm_pk(a), host=pa.host)]))
            return f
        src_stack = pa.host
        _forwarding(ix, pa.host, f)
        _firewall(ix, pa.net, a, b, f, f"net:{pa.host}:{pa.net.name}")
    elif pa.kind == HOSTONLY:
        f.block(Cause(C.ISOLATED, f"Bridge {pa.bridge} on {_name(ix, pa.host)} has no uplink "
                      f"port: {a.label} reaches only the guests on it (and the host).",
                      f"if:{pa.host}:{pa.bridge}"))
        return f
    elif pa.kind == HOST:
        src_stack = pa.host
    dst_stack = pb.host if pb.kind in (PRIVATE, HOST) else None
    if pb.kind == HOSTONLY:
        f.block(Cause(C.ISOLATED, f"Bridge {pb.bridge} on {_name(ix, pb.host)} has no uplink "
                      f"port: only the guests on it (and the host) reach {b.label}.",
                      f"if:{pb.host}:{pb.bridge}"))
        return f

    # Across: inside one host, or over the LAN.
    if src_stack is None or src_stack != dst_stack:
        if pa.kind == PRIVATE:
            lan_a = _private_uplink(ix, pa.net, f, f.middle)
        elif pa.kind == HOST:
            lan_a = _host_lan(ix, pa.host, pb.lan if pb.kind == LAN else "")
        else:
            lan_a = pa.lan
        tail = []
        if pb.kind == PRIVATE:
            lan_b = _private_uplink(ix, pb.net, f, tail)
        elif pb.kind == HOST:
            lan_b = _host_lan(ix, pb.host, lan_a)
        else:
            lan_b = pb.lan
        f.middle += [x for x in (lan_a, lan_b) if x] if lan_a != lan_b else [lan_a] if lan_a else []
        f.middle += tail[::-1]
        if not lan_a or not lan_b:
            f.assume(f"kvmweb does not know the LAN segment of {a.label if not lan_a else b.label}.",
                     unknown=True)
        elif lan_a != lan_b:
            f.assume(f"{lan_a[4:]} and {lan_b[4:]} are different LAN segments: assumed a router "
                     "joins them.", unknown=True)
        if pb.kind == LAN and pb.lower and src_stack == pb.host:
            f.block(_macvtap_own_host(ix, b))
        if pa.kind == LAN and pa.lower and dst_stack == pa.host:
            f.block(_macvtap_own_host(ix, a))
        if pa.kind == LAN and pb.kind == LAN and pa.lower and pb.lower and pa.host == pb.host \
                and pa.lower == pb.lower:
            _macvtap_modes(ix, a, b, f)
    if pa.kind == PRIVATE and pa.net.forward_mode != "nat" and dst_stack != pa.host:
        # A routed network's replies come back only if the other side routes them to its host.
        _routed_needs_route(ix, pa.net, dst_stack, b.label, f, back=True)
    if pb.kind == PRIVATE:
        _enter_private(ix, a, b, src_stack, f)
    _mtu(ix, a, b, f)
    return f


def _macvtap_modes(ix, a, b, f):
    modes = {a.place.mode, b.place.mode}
    if "private" in modes:
        f.block(Cause(C.MACVTAP_MODE, f"macvtap in private mode on {a.place.lower}: guests on "
                      "the same lower device never see each other.", f"if:{a.place.host}:"
                      f"{a.place.lower}", fixes=[fix(C.FIX_MACVTAP_BRIDGE, "Use macvtap mode "
                                                     "bridge", vm=_vm_pk(a), mac=a.nic.mac,
                                                     iface=a.place.lower)]))
    elif "vepa" in modes:
        f.assume(f"macvtap in vepa mode on {a.place.lower}: the guests see each other only if "
                 "the switch port hairpins (reflective relay); assumed it does not.")
        f.block(Cause(C.MACVTAP_MODE, f"macvtap in vepa mode on {a.place.lower}: frames between "
                      "the two guests go to the switch and come back only if its port "
                      "hairpins.", f"if:{a.place.host}:{a.place.lower}",
                      fixes=[fix(C.FIX_MACVTAP_BRIDGE, "Use macvtap mode bridge",
                                 vm=_vm_pk(a), mac=a.nic.mac, iface=a.place.lower)]))


def _l2_ifaces(ix, end):
    """The host interfaces of an end's own L2 domain (tap, bridge, bridge's uplink port)."""
    return [ix.ifaces[(int(h), n)] for h, n in
            (x.split(":", 2)[1:] for x in end.hops if x.startswith("if:"))
            if (int(h), n) in ix.ifaces]


def _mtu(ix, a, b, f):
    """A warning when MTUs differ along a bridged path (frames larger than the smallest are
    dropped silently, not fragmented)."""
    groups = [_l2_ifaces(ix, a), _l2_ifaces(ix, b)]
    if a.place.kind == LAN and b.place.kind == LAN and a.place.lan == b.place.lan:
        groups = [groups[0] + groups[1]]
    for ifaces in groups:
        ifaces = sorted({(i.host, i.name): i for i in ifaces}.values(), key=lambda i: (i.host, i.name))
        mtus = {i.mtu for i in ifaces if i.mtu}
        if len(mtus) > 1:
            detail = ", ".join(f"{i.name} {i.mtu}" for i in ifaces if i.mtu)
            f.block(Cause(C.MTU_MISMATCH, f"MTUs differ along the bridged path ({detail}): "
                          "small packets such as pings pass, larger frames are dropped without "
                          "a word.", f"if:{ifaces[0].host}:{ifaces[0].name}",
                          fixes=[fix(C.FIX_MTU, f"Set the same MTU on all of them ({i.name} "
                                     f"{i.mtu} → {min(mtus)}, or the others up to {max(mtus)})",
                                     host=i.host, iface=i.name, mtu=min(mtus))
                                 for i in ifaces if i.mtu and i.mtu != min(mtus)][:1]))


# -- the answer --------------------------------------------------------------------------------

def verdict_of(problems, forward, backward):
    if any(c.code not in C.UNKNOWNS and c.code not in C.WARNINGS for c in problems):
        return C.UNREACHABLE
    if problems and any(c.code in C.UNKNOWNS for c in problems):
        return C.UNKNOWN
    if forward.ok and backward.ok:
        return C.REACHABLE
    if (forward.ok and backward.ok is False) or (backward.ok and forward.ok is False):
        return C.ONE_WAY
    if forward.ok is False and backward.ok is False:
        return C.UNREACHABLE
    return C.UNKNOWN


def _end_dict(end):
    return {"kind": end.kind, "id": end.id, "label": end.label, "host": end.host,
            "ip": end.ip, "place": end.place.kind,
            "network": end.place.net.name if end.place.net is not None else "",
            "bridge": end.place.bridge, "lan": end.place.lan, "macvtap": end.place.lower}


def analyse(ix, a, b):
    """The answer to "can A reach B?" for two ends (places.nic_end / host_end / outside_end):
    a JSON-ready dict with the verdict, both directions, the causes with their fixes, the
    assumptions and the hops (graph ids, A to B)."""
    address_ends(ix, a, b)
    problems = []
    for end in (a, b):
        for cause in end.problems:
            if cause not in problems:
                problems.append(cause)
    if a.id == b.id:
        forward = backward = Flow(C.FORWARD)
    else:
        forward = can_start(ix, a, b, C.FORWARD)
        backward = can_start(ix, b, a, C.BACKWARD)
    for end in (a, b):
        if end.kind != "host" and not end.ip and not any(c.code in C.UNKNOWNS for c in problems):
            # Where a bridged guest's address comes from the LAN's DHCP, kvmweb may not know it.
            forward.assume(f"no IPv4 address is known for {end.label}; the answer is about its "
                           "place in the network, whatever address it gets.")
    causes, seen = [], set()
    for c in problems + forward.causes + backward.causes:
        key = (c.code, c.text)
        if key in seen:
            for prior in causes:
                if (prior["code"], prior["text"]) == key and prior["direction"] != c.direction:
                    prior["direction"] = C.BOTH
            continue
        seen.add(key)
        causes.append(c.as_dict())
    verdict = verdict_of(problems, forward, backward)
    hops = list(a.hops) + [h for h in forward.middle if h not in a.hops and h not in b.hops]
    hops += [h for h in reversed(b.hops) if h not in hops]
    return {
        "source": _end_dict(a), "destination": _end_dict(b),
        "verdict": verdict, "verdict_label": C.VERDICT_LABELS[verdict],
        "forward": forward.ok, "backward": backward.ok,
        "causes": [c for c in causes if not c["warning"]],
        "warnings": [c for c in causes if c["warning"]],
        "assumptions": forward.assumptions + [x for x in backward.assumptions
                                              if x not in forward.assumptions],
        "hops": hops,
    }


def end_for(ix, ref):
    """An end from a reference: a graph id (``nic:<host>:<uuid>:<mac>``, ``vm:<host>:<uuid>``
    for its first NIC, ``host:<pk>``), ``ip:<address>`` or a bare IPv4 address (a VM NIC or a
    host holding it, else an outside address on a LAN). None when nothing matches."""
    ref = (ref or "").strip()
    kind, _, rest = ref.partition(":")
    try:
        if kind == "nic":
            host, uuid, mac = rest.split(":", 2)
            return nic_end(ix, int(host), uuid, mac.lower())
        if kind == "vm":
            host, uuid = rest.split(":", 1)
            nics = sorted(ix.nics_of_vm.get((int(host), uuid), []), key=lambda n: n.mac)
            return nic_end(ix, int(host), uuid, nics[0].mac) if nics else None
        if kind == "host":
            return host_end(ix, int(rest))
    except ValueError:
        return None
    address = rest if kind == "ip" else ref
    for nic in ix.nic_by_ip.get(address, []):
        return nic_end(ix, nic.host, nic.vm_uuid, nic.mac)
    for host, ips in ix.host_ips.items():
        if any(str(i.ip) == address for i in ips):
            return host_end(ix, host, address)
    return outside_end(ix, address)


def ask(model, a_ref, b_ref, index=None):
    """analyse() from references (see end_for); None for an end that is not found."""
    ix = index or Index(model)
    a, b = end_for(ix, a_ref), end_for(ix, b_ref)
    if a is None or b is None:
        return None
    return analyse(ix, a, b)
