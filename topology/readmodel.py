"""The part of kvmweb's read model the topology is drawn from, as plain records.

``load(host_ids)`` reads the database (a handful of queries, whatever the number of hosts) and
returns a :class:`ReadModel`; :mod:`topology.graph` turns it into nodes and edges without touching
the database again. Tests (and benchmarks) build a ReadModel by hand.
"""

from dataclasses import dataclass, field


@dataclass
class HostRec:
    pk: int
    name: str
    status: str = "online"
    ip_forward: bool | None = None  # net.ipv4.ip_forward when a sync recorded it; None: unknown


@dataclass
class IfaceRec:
    """A host interface (hosts.HostInterface)."""

    host: int
    name: str
    kind: str  # physical, veth, bridge, bond, vlan, tun/tap, macvtap, ... (hostnet's words)
    up: bool = True
    carrier: bool = True
    state: str = "up"
    mac: str = ""
    mtu: int | None = None
    master: str = ""
    parent: str = ""
    link_netnsid: int | None = None  # the peer is in another network namespace (eth0@if4)
    addresses: list = field(default_factory=list)  # [{family, address, prefixlen, scope}]
    routes: list = field(default_factory=list)  # [{family, dst, gateway, metric}]


@dataclass
class NetRec:
    """A libvirt network (networks.Network) with its <forward> read from the XML."""

    host: int
    name: str
    kind: str  # nat, route, open, isolated, bridge, macvtap-*, hostdev
    bridge: str = ""
    active: bool = True
    forward_mode: str | None = None  # None: isolated
    forward_devs: list = field(default_factory=list)  # forward dev= and <interface dev=>, <pf dev=>
    subnets: list = field(default_factory=list)
    pk: int | None = None
    firewall: list = field(default_factory=list)  # stored nft rules naming it (networks.Network)


@dataclass
class VMRec:
    host: int
    uuid: str
    name: str
    state: str = "running"
    pk: int | None = None


@dataclass
class NicRec:
    """A VM NIC (vms.DomainInterface): rows are recreated on every sync, so it is known by
    (host, domain uuid, MAC), never by its primary key."""

    host: int
    vm_uuid: str
    mac: str
    type: str  # network, bridge, direct, ...
    source: str = ""
    mode: str = ""
    target: str = ""  # vnetN / macvtapN while the VM runs
    link_state: str = "up"
    model: str = ""
    ips: list = field(default_factory=list)


@dataclass
class SegmentRec:
    """An administrator's name for the L2 segment a host interface is plugged into."""

    host: int
    iface: str
    name: str


@dataclass
class ReadModel:
    hosts: list = field(default_factory=list)
    ifaces: list = field(default_factory=list)
    networks: list = field(default_factory=list)
    vms: list = field(default_factory=list)
    nics: list = field(default_factory=list)
    segments: list = field(default_factory=list)


def forward_of(xml):
    """(mode, devices) of a network's <forward>: mode None when isolated, 'nat' for a bare
    <forward/>; devices are dev=, each <interface dev=> and <pf dev=> in document order."""
    from kvmweb.virt.xml import Network as NetworkXML
    from kvmweb.virt.xml import XMLError

    try:
        model = NetworkXML.from_xml(xml)
    except (XMLError, ValueError):
        return None, []
    mode = model.forward_mode
    if mode is None:
        return None, []
    fwd = model.forward
    devs = []
    for dev in [fwd.dev, *fwd.devs, fwd.pf_dev]:
        if dev and dev not in devs:
            devs.append(dev)
    return mode, devs


def load(host_ids):
    """The read model of the given hosts, from the database."""
    from hosts.models import Host, HostInterface
    from networks.models import Network
    from vms.addresses import addresses_by_mac
    from vms.models import Domain, DomainInterface

    from .models import UplinkSegment

    host_ids = list(host_ids)
    model = ReadModel()
    model.hosts = [HostRec(pk=h.pk, name=h.name, status=h.status,
                           ip_forward=(h.capabilities or {}).get("ip_forward"))
                   for h in Host.objects.filter(pk__in=host_ids).order_by("name", "pk")]
    model.ifaces = _ifaces(HostInterface, host_ids)
    for net in Network.objects.filter(host_id__in=host_ids).order_by():
        mode, devs = forward_of(net.xml)
        model.networks.append(NetRec(
            host=net.host_id, pk=net.pk, name=net.name, kind=net.kind, bridge=net.bridge,
            active=net.active, forward_mode=mode, forward_devs=devs, subnets=net.subnets or [],
            firewall=net.firewall or []))
    uuids = {}
    for dom in Domain.objects.filter(host_id__in=host_ids).only(
            "pk", "host_id", "uuid", "name", "state").order_by():
        model.vms.append(VMRec(host=dom.host_id, pk=dom.pk, uuid=dom.uuid, name=dom.name,
                               state=dom.state))
        uuids[dom.pk] = dom.uuid
    rows = list(DomainInterface.objects.filter(domain__host_id__in=host_ids).order_by(
        "domain_id", "pk").values_list(
        "domain_id", "domain__host_id", "mac", "type", "source", "mode", "target", "link_state",
        "model"))
    addresses = addresses_by_mac((host, mac) for _, host, mac, *_ in rows)
    for dom_pk, host, mac, typ, source, mode, target, link_state, nic_model in rows:
        if dom_pk not in uuids:
            continue  # its VM was stored after the VMs were read: the next publish has both
        model.nics.append(NicRec(
            host=host, vm_uuid=uuids[dom_pk], mac=mac, type=typ, source=source, mode=mode,
            target=target, link_state=link_state, model=nic_model,
            ips=sorted({a["ip"] for a in addresses.get((host, mac), [])})))
    model.segments = [SegmentRec(host=s.host_id, iface=s.interface, name=s.name)
                      for s in UplinkSegment.objects.filter(host_id__in=host_ids)]
    return model


def _ifaces(HostInterface, host_ids):
    # ``stats`` holds counters and routes; only the routes are needed (for NAT's way out).
    rows = HostInterface.objects.filter(host_id__in=host_ids).order_by().values_list(
        "host_id", "name", "kind", "up", "carrier", "state", "mac", "mtu", "master", "parent",
        "link_netnsid", "addresses", "stats")
    return [IfaceRec(host=h, name=n, kind=k, up=u, carrier=c, state=s, mac=m, mtu=mtu, master=ma,
                     parent=p, link_netnsid=ns, addresses=a or [],
                     routes=(st or {}).get("routes", []))
            for h, n, k, u, c, s, m, mtu, ma, p, ns, a, st in rows]
