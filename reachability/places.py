"""Where each end of a question sits, from the read model: the index the analysis looks things
up in, and the :class:`End` (a VM NIC, a host, an outside address) with its :class:`Place`.

Pure (no Django, no host): the ids are those of :mod:`topology.graph`, so a page can highlight
them; LAN segments are recognised the way the graph recognises them (an administrator's name
for the uplink, else the IPv4 subnet of the uplink's global address).
"""

import ipaddress
from collections import defaultdict
from dataclasses import dataclass, field

from topology import choices as T

from . import choices as C

# A place is where an end's packets start from:
PRIVATE = "private"    # a libvirt NAT / routed / open / isolated network: private to its host
LAN = "lan"            # an L2 segment between hosts (a bridge with an uplink port, macvtap)
HOSTONLY = "hostonly"  # a host bridge without an uplink port
HOST = "host"          # the host's own IP stack
UNKNOWN = "unknown"


@dataclass
class Place:
    kind: str
    host: int | None = None
    net: object = None        # the NetRec of a private network (or of a bridge / macvtap one)
    bridge: str = ""          # the host bridge the end is a port of
    lan: str = ""             # the LAN segment's graph id
    lower: str = ""           # macvtap: the lower device (eth0)
    mode: str = ""            # macvtap: bridge, vepa, private, passthrough


@dataclass
class Cause:
    code: str
    text: str
    hop: str = ""             # graph id of the hop where it happens
    direction: str = C.BOTH
    fixes: list = field(default_factory=list)

    def as_dict(self):
        return {"code": self.code, "text": self.text, "hop": self.hop,
                "direction": self.direction, "warning": self.code in C.WARNINGS,
                "fixes": self.fixes}


@dataclass
class End:
    kind: str                 # nic, host, outside
    id: str                   # graph id (outside: "ip:<address>")
    label: str
    host: int | None
    ip: str | None
    place: Place
    hops: list = field(default_factory=list)      # graph ids from the end outwards
    problems: list = field(default_factory=list)  # causes that block both directions
    nic: object = None
    vm: object = None
    address: str | None = None  # host: the one address asked about (else any of its addresses)


def fix(kind, title, detail="", **target):
    return {"kind": kind, "title": title, "detail": detail, "target": target}


def _ipv4(address):
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return ip if ip.version == 4 else None


class Index:
    """Lookups over one ReadModel, built once (O(size of the model))."""

    def __init__(self, model):
        self.model = model
        self.hosts = {h.pk: h for h in model.hosts}
        self.ifaces = {(i.host, i.name): i for i in model.ifaces}
        self.ports = defaultdict(list)
        for i in model.ifaces:
            if i.master:
                self.ports[(i.host, i.master)].append(i)
        self.nets = {(n.host, n.name): n for n in model.networks}
        self.net_on_bridge = {(n.host, n.bridge): n for n in model.networks if n.bridge}
        self.vms = {(v.host, v.uuid): v for v in model.vms}
        self.nics = {(n.host, n.vm_uuid, n.mac): n for n in model.nics}
        self.nics_of_vm = defaultdict(list)
        self.nic_by_ip = {}
        for n in model.nics:
            self.nics_of_vm[(n.host, n.vm_uuid)].append(n)
            for ip in n.ips:
                self.nic_by_ip.setdefault(ip, []).append(n)
        self._lans()

    # -- LAN segments (as topology.graph._lan_segments draws them) ---------------------------

    def _lans(self):
        self.lan_of = {}                     # (host, iface) -> lan id
        self.lan_subnet = {}                 # lan id -> ip_network or None
        self.host_addr = defaultdict(dict)   # host -> {lan id: (iface holding the address, ip)}
        self.host_ips = defaultdict(list)    # host -> [ip_interface of every global IPv4 address]
        managed = {(n.host, n.bridge) for n in self.model.networks
                   if n.kind in T.MANAGED_NETWORKS and n.bridge}
        named = {(s.host, s.iface): s.name for s in self.model.segments}
        for i in self.model.ifaces:
            ifkind = T.IFKINDS.get(i.kind, i.kind)
            for a in i.addresses:
                if a.get("family") != "inet" or a.get("scope", 0) != 0:
                    continue
                iface = ipaddress.ip_interface(f"{a['address']}/{a['prefixlen']}")
                if iface.network.prefixlen >= 32 or iface.is_loopback or iface.is_link_local:
                    continue
                self.host_ips[i.host].append(iface)
                if ifkind in ("tap", "macvtap") or (i.host, i.name) in managed:
                    continue
                on = [i.name]
                if ifkind == "bridge":
                    on = [p.name for p in self.ports[(i.host, i.name)]
                          if T.IFKINDS.get(p.kind, p.kind) in ("nic", "bond", "veth", "vlan")] or on
                for name in on:
                    lan = (f"lan:name:{named[(i.host, name)]}" if (i.host, name) in named
                           else f"lan:{iface.network}")
                    self.lan_of.setdefault((i.host, name), lan)
                    self.lan_subnet.setdefault(lan, iface.network)
                    self.host_addr[i.host].setdefault(lan, (i.name, str(iface.ip)))
        for (host, name), seg in named.items():
            if (host, name) in self.ifaces:
                self.lan_of[(host, name)] = f"lan:name:{seg}"
                self.lan_subnet.setdefault(f"lan:name:{seg}", None)

    def lan_of_bridge(self, host, bridge):
        """(lan id, uplink port) of a bridge: the LAN of one of its uplink ports (eth0 in br0)."""
        for p in self.ports[(host, bridge)]:
            if (host, p.name) in self.lan_of:
                return self.lan_of[(host, p.name)], p.name
        return "", ""  # no uplink port: a host-only bridge, whatever address it has

    def lan_of_device(self, host, dev):
        """The LAN a device (macvtap's lower device, a forward dev) is on: its own, or its
        bridge's (eth0 enslaved to br0), or its parent's (a VLAN)."""
        i = self.ifaces.get((host, dev))
        if (host, dev) in self.lan_of:
            return self.lan_of[(host, dev)]
        if i is not None and i.master:
            return self.lan_of_bridge(host, i.master)[0]
        if i is not None and i.parent and (host, i.parent) in self.lan_of:
            return self.lan_of[(host, i.parent)]
        return ""

    def default_dev(self, host):
        best = None
        for i in self.model.ifaces:
            if i.host != host:
                continue
            for r in i.routes:
                if r.get("family") == "inet" and r.get("dst") == "default":
                    if best is None or r.get("metric", 0) < best[0]:
                        best = (r.get("metric", 0), i.name)
        return best[1] if best else ""

    def routes(self, host):
        for i in self.model.ifaces:
            if i.host == host:
                for r in i.routes:
                    if r.get("family") == "inet":
                        yield i.name, r

    def uplink_of(self, net):
        """The device a NAT / routed network leaves its host through: forward dev, else the
        interface of the default route."""
        return (net.forward_devs[0] if net.forward_devs else self.default_dev(net.host))

    def lan_at(self, ip):
        """The LAN segment whose subnet holds ``ip`` (an outside address), or ""."""
        ip = _ipv4(ip)
        if ip is None:
            return ""
        for lan, subnet in sorted(self.lan_subnet.items()):
            if subnet is not None and ip in subnet:
                return lan
        return ""


# -- resolving the ends ----------------------------------------------------------------------

def iface_problem(index, host, name, hop_id=None):
    """A LINK_DOWN cause when a host interface is down or has no carrier."""
    i = index.ifaces.get((host, name))
    if i is None:
        return None
    hname = index.hosts[host].name if host in index.hosts else host
    fixes = [fix(C.FIX_LINK_UP, f"Set {name} up on {hname}", host=host, iface=name)]
    if not i.up:
        return Cause(C.LINK_DOWN, f"{name} on {hname} is down (ip link set {name} up).",
                     hop_id or f"if:{host}:{name}", fixes=fixes)
    if not i.carrier and T.IFKINDS.get(i.kind, i.kind) != "bridge":
        # A bridge without carrier only says none of its ports is up; the ports say why.
        return Cause(C.LINK_DOWN, f"{name} on {hname} has no carrier: its cable or peer is "
                     "down, so nothing passes through it.", hop_id or f"if:{host}:{name}",
                     fixes=fixes)
    return None


def _host_problems(index, host):
    h = index.hosts.get(host)
    if h is not None and h.status != "online":
        return [Cause(C.HOST_OFFLINE, f"{h.name} is {h.status}: what kvmweb knows of it may be "
                      "out of date.", f"host:{host}",
                      fixes=[fix(C.FIX_SYNC, f"Sync {h.name} again", host=host)])]
    return []


def nic_end(index, host, uuid, mac):
    nic = index.nics.get((host, uuid, mac))
    vm = index.vms.get((host, uuid))
    if nic is None or vm is None:
        return None
    nid = f"nic:{host}:{uuid}:{mac}"
    ip = next((a for a in nic.ips if _ipv4(a)), None)
    end = End("nic", nid, f"{vm.name} ({ip or mac})", host, ip, Place(UNKNOWN, host),
              hops=[nid], nic=nic, vm=vm)
    end.problems += _host_problems(index, host)
    if vm.state != "running":
        end.problems.append(Cause(
            C.VM_NOT_RUNNING, f"VM {vm.name} is {vm.state or 'not running'}: its NIC sends "
            "and answers nothing.", f"vm:{host}:{uuid}",
            fixes=[fix(C.FIX_START_VM, f"Start {vm.name}", vm=vm.pk)]))
    if nic.link_state == "down":
        end.problems.append(Cause(
            C.NIC_LINK_DOWN, f"The link of {vm.name}'s NIC {mac} is set down (<link "
            "state='down'/>): the guest sees its cable unplugged.", nid,
            fixes=[fix(C.FIX_NIC_LINK_UP, f"Set the link of {mac} up", vm=vm.pk, mac=mac)]))
    tap = nic.target if (host, nic.target) in index.ifaces else ""
    if tap:
        end.hops.append(f"if:{host}:{tap}")
    net = index.nets.get((host, nic.source)) if nic.type == "network" else None
    if nic.type == "network" and net is None:
        end.problems.append(Cause(C.UNKNOWN_ATTACHMENT, f"Network {nic.source} is not known on "
                                  "this host.", nid))
        return end
    if net is not None and not net.active:
        end.problems.append(Cause(
            C.NETWORK_INACTIVE, f"Network {net.name} is not active: its bridge "
            f"{net.bridge or ''} does not exist, so {vm.name} is not plugged in anywhere.",
            f"net:{host}:{net.name}",
            fixes=[fix(C.FIX_START_NETWORK, f"Start network {net.name}", network=net.pk)]))
    tap_rec = index.ifaces.get((host, tap)) if tap else None
    macvtap = (nic.type == "direct" or (net is not None and net.kind.startswith("macvtap"))
               or (tap_rec is not None and T.IFKINDS.get(tap_rec.kind) == "macvtap"))
    if macvtap:
        lower = (tap_rec.parent if tap_rec is not None and tap_rec.parent else
                 (net.forward_devs[0] if net is not None and net.forward_devs else nic.source))
        mode = nic.mode or (net.forward_mode if net is not None else "") or "vepa"
        if net is not None and net.kind.startswith("macvtap-"):
            mode = net.kind.split("-", 1)[1]
        end.place = Place(LAN, host, net, lan=index.lan_of_device(host, lower), lower=lower,
                          mode=mode)
        end.hops.append(f"if:{host}:{lower}")
        _device_problems(index, end, host, lower)
        return end
    if net is not None and net.kind in T.MANAGED_NETWORKS:
        end.place = Place(PRIVATE, host, net, bridge=net.bridge)
        end.hops += [f"if:{host}:{net.bridge}", f"net:{host}:{net.name}"]
        return end
    bridge = (tap_rec.master if tap_rec is not None and tap_rec.master else
              (net.bridge if net is not None else nic.source))
    if not bridge or (host, bridge) not in index.ifaces:
        if net is None or net.active:
            end.problems.append(Cause(C.UNKNOWN_ATTACHMENT, f"kvmweb cannot tell which bridge "
                                      f"{vm.name}'s NIC {mac} is plugged into.", nid))
        return end
    end.hops.append(f"if:{host}:{bridge}")
    lan, port = index.lan_of_bridge(host, bridge)
    end.place = Place(LAN if lan else HOSTONLY, host, net, bridge=bridge, lan=lan)
    problem = iface_problem(index, host, bridge)
    if problem:
        end.problems.append(problem)
    if port and port != bridge:
        end.hops.append(f"if:{host}:{port}")
        _device_problems(index, end, host, port)
    return end


def _device_problems(index, end, host, dev):
    problem = iface_problem(index, host, dev)
    if problem:
        end.problems.append(problem)


def host_end(index, host, address=None):
    """A host: at ``address`` when one of its addresses was asked about; by its name, at its
    first LAN address until :func:`address_for` picks the one the other end would use."""
    h = index.hosts.get(host)
    if h is None:
        return None
    addresses = sorted(index.host_addr[host].values())
    ip = address or (addresses[0][1] if addresses else None)
    end = End("host", f"host:{host}", f"{h.name} at {address}" if address else h.name, host, ip,
              Place(HOST, host), hops=[f"host:{host}"], address=address)
    end.problems += _host_problems(index, host)
    return end


def subnets(net):
    """The IPv4 subnets of a network record (its <ip> elements)."""
    out = []
    for s in net.subnets or []:
        try:
            n = ipaddress.ip_network(s, strict=False)
        except ValueError:
            continue
        if n.version == 4:
            out.append(n)
    return out


def lan_name(lan):
    """A LAN segment's graph id as people read it: its subnet, or the name it was given."""
    return lan.split(":", 1)[-1].removeprefix("name:")


def _lan_towards(index, other):
    """The LAN segment ``other``'s packets for another host arrive on: a private network's
    uplink LAN (NAT / routed), a bridged or macvtap guest's LAN, an outside address's LAN; for
    a host, one of its LANs (the first the caller shares with it, see address_for)."""
    p = other.place
    if p.kind == PRIVATE and p.net is not None:
        dev = p.net.forward_devs[0] if p.net.forward_devs else index.default_dev(p.host)
        return index.lan_of_device(p.host, dev) if dev else ""
    if p.kind == LAN:
        return p.lan
    return ""


def address_for(index, end, other):
    """A host asked about by name is resolved to the address ``other`` would actually use, and
    its label says which (``kvm1 at 10.79.18.1 (its address on inet)``):

    - a guest on a private network of that host: the host's address on the network's bridge
      (the guests' gateway; an isolated network's guests have no other way to the host);
    - a guest on a host-only bridge of that host: the bridge's address;
    - a guest bridged or on macvtap over that host's LAN: the host's address on that LAN;
    - anything else (a guest or host elsewhere, an outside address): the host's address on
      the LAN the other end's packets arrive on, else its first LAN address.

    A host asked about at one of its addresses keeps it. Returns ``end`` (changed in place)."""
    if end.kind != "host" or end.address or other is None or other.id == end.id:
        return end
    host, p = end.host, other.place
    name = index.hosts[host].name if host in index.hosts else str(host)
    ip = where = None
    if p.host == host and p.kind in (PRIVATE, HOSTONLY):
        if p.kind == PRIVATE:
            nets, where = subnets(p.net), p.net.name
            ip = next((str(i.ip) for i in index.host_ips[host] if any(i.ip in n for n in nets)),
                      None)
        else:
            where = p.bridge
            ip = next((a["address"] for a in index.ifaces[(host, p.bridge)].addresses
                       if a.get("family") == "inet" and a.get("scope", 0) == 0), None)
        if ip is None:  # the guest has no way to the host at all (the analysis says why)
            end.ip, end.label = None, f"{name} (it has no address on {where})"
            return end
    else:
        lans = index.host_addr[host]
        lan = p.lan if p.host == host else _lan_towards(index, other)
        if other.kind == "host":
            lan = next((x for x in sorted(lans) if x in index.host_addr[other.host]), "")
        if lan in lans:
            ip, where = lans[lan][1], lan_name(lan)
        elif lans:
            lan = sorted(lans)[0]
            ip, where = lans[lan][1], lan_name(lan)
    if ip is None:
        return end
    end.ip, end.address = ip, ip
    end.label = f"{name} at {ip} (its address on {where})"
    return end


def address_ends(index, a, b):
    """address_for both ways: a question's two ends, hosts asked by name resolved."""
    address_for(index, a, b)
    address_for(index, b, a)
    return a, b


def outside_end(index, address, lan=""):
    """An address on a LAN segment that is not a kvmweb host or VM (a router, a laptop)."""
    ip = _ipv4(address)
    if ip is None:
        return None
    lan = lan or index.lan_at(address)
    end = End("outside", f"ip:{ip}", str(ip), None, str(ip), Place(LAN if lan else UNKNOWN, lan=lan),
              hops=[lan] if lan else [])
    if not lan:
        end.problems.append(Cause(C.UNKNOWN_ATTACHMENT, f"{ip} is on none of the LAN segments "
                                  "kvmweb knows from its hosts' addresses.", end.id))
    return end
