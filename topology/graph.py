"""The topology graph: how every VM is wired, on every host, derived from the read model.

Pure functions over plain data (no requests, no host I/O; only :func:`compute` and the ``href``
of nodes touch Django). The page, the API and later tools (reachability) share them:

- :func:`build` turns a :class:`~topology.readmodel.ReadModel` into a :class:`Graph`;
- :func:`select` keeps the part of a graph a :class:`Focus` asks for (all, one host, one network,
  one VM and its neighbours); :func:`compute` does load + build + select in one call;
- :func:`host_part` is what one host contributes (what versions and deltas are kept for);
- :func:`path` is the shortest wire between two nodes, e.g. two VM NICs.

Elements are Cytoscape-style ``data`` dicts. Ids are stable across syncs (NIC rows are recreated
on every sync, so nothing uses a database primary key except for links):

    host:<host>                      the host (compound parent of all its nodes)
    if:<host>:<ifname>               a host interface (``ifkind`` nic, bridge, bond, vlan, veth,
                                     tap, macvtap, ...)
    net:<host>:<network name>        a libvirt network
    vm:<host>:<domain uuid>          a VM
    nic:<host>:<domain uuid>:<mac>   a VM NIC
    lan:<subnet> / lan:name:<name>   an L2 segment between hosts
    grp:<anchor id>                  a collapsed group of the VMs on a network / bridge
    <kind>|<source>|<target>         an edge (kinds in :mod:`topology.choices`)

Every element's data has ``kind``, ``label`` and ``host`` (None for LAN nodes); the host and
every node of an element kind always carry the same keys, so deltas are key by key.
"""

import functools
import ipaddress
from collections import defaultdict, deque
from dataclasses import dataclass

from . import choices as C

GROUP_OVER = 10  # more VMs than this on one network collapse into one node (OpenNebula does ~10)


@dataclass(frozen=True)
class Focus:
    """What to show: ``all``, or one ``host`` (pk), ``network`` or ``vm`` (host pk + name/uuid)."""

    kind: str = "all"
    host: int | None = None
    key: str = ""  # network name, or domain uuid

    def start_id(self):
        return {"network": f"net:{self.host}:{self.key}",
                "vm": f"vm:{self.host}:{self.key}"}.get(self.kind)


ALL = Focus()


class Graph:
    """Nodes and edges by id, each a data dict."""

    def __init__(self):
        self.nodes = {}
        self.edges = {}

    def node(self, id, kind, label, host, **data):
        self.nodes[id] = {"id": id, "kind": kind, "label": label, "host": host,
                          **({"parent": f"host:{host}"} if host is not None and kind != C.HOST
                             else {}), **data}
        return self.nodes[id]

    def edge(self, kind, source, target, host, **data):
        """Add an edge if both ends exist; returns it (or None)."""
        if source not in self.nodes or target not in self.nodes:
            return None
        id = f"{kind}|{source}|{target}"
        self.edges[id] = {"id": id, "kind": kind, "source": source, "target": target,
                          "host": host, **data}
        return self.edges[id]

    def adjacency(self, skip_kinds=(C.GROUPED,)):
        adj = defaultdict(list)
        for e in self.edges.values():
            if e["kind"] in skip_kinds:
                continue
            adj[e["source"]].append((e["target"], e["id"]))
            adj[e["target"]].append((e["source"], e["id"]))
        return adj

    def subgraph(self, node_ids):
        """The given nodes, their host boxes, and the edges between them."""
        node_ids = set(node_ids)
        node_ids |= {self.nodes[n]["parent"] for n in node_ids if self.nodes[n].get("parent")}
        sub = Graph()
        sub.nodes = {i: d for i, d in self.nodes.items() if i in node_ids}
        sub.edges = {i: d for i, d in self.edges.items()
                     if d["source"] in node_ids and d["target"] in node_ids}
        return sub

    def as_elements(self):
        """Cytoscape's JSON: {"nodes": [{"data": ...}], "edges": [{"data": ...}]}, sorted."""
        return {"nodes": [{"data": self.nodes[i]} for i in sorted(self.nodes)],
                "edges": [{"data": self.edges[i]} for i in sorted(self.edges)]}


_SENTINEL = 987654321


@functools.lru_cache(maxsize=None)
def _href_pattern(name):
    from django.urls import reverse

    return reverse(name, args=[_SENTINEL]).split(str(_SENTINEL))


def _href(name, pk):
    """The page of an object: ``reverse(name, args=[pk])``, without resolving thousands of times."""
    if pk is None:
        return ""
    return str(pk).join(_href_pattern(name))


def _global_subnets(iface):
    """IPv4 subnets of an interface's global addresses (what a LAN segment is recognised by)."""
    nets = []
    for a in iface.addresses:
        if a.get("family") != "inet" or a.get("scope", 0) != 0:
            continue
        net = ipaddress.ip_interface(f"{a['address']}/{a['prefixlen']}").network
        if net.prefixlen < 32 and not net.is_link_local and not net.is_loopback:
            nets.append(str(net))
    return nets


def _default_route_iface(ifaces):
    best = None
    for i in ifaces:
        for r in i.routes:
            if r.get("family") == "inet" and r.get("dst") == "default":
                if best is None or r.get("metric", 0) < best[0]:
                    best = (r.get("metric", 0), i.name)
    return best[1] if best else ""


def _iface_state(i):
    if not i.up:
        return C.DOWN
    return C.UP if i.carrier else C.NO_CARRIER


def build(model, group_over=GROUP_OVER):
    """The whole graph of the hosts in ``model`` (a :class:`~topology.readmodel.ReadModel`)."""
    g = Graph()
    by_host = defaultdict(lambda: {"ifaces": [], "networks": [], "vms": [], "nics": [],
                                   "segments": {}})
    for kind in ("ifaces", "networks", "vms", "nics"):
        for rec in getattr(model, kind):
            by_host[rec.host][kind].append(rec)
    for seg in model.segments:
        by_host[seg.host]["segments"][seg.iface] = seg.name
    for host in model.hosts:
        g.node(f"host:{host.pk}", C.HOST, host.name, host.pk, state=host.status,
               offline=host.status != "online", href=_href("hosts:detail", host.pk))
        _build_host(g, host, by_host[host.pk], group_over)
    return g


def _build_host(g, host, rm, group_over):
    h = host.pk
    ifaces = sorted((i for i in rm["ifaces"] if i.kind != "loopback"), key=lambda i: i.name)
    names = {i.name: i for i in ifaces}
    iid = lambda name: f"if:{h}:{name}"  # noqa: E731
    networks = sorted(rm["networks"], key=lambda n: n.name)
    managed_bridges = {n.bridge for n in networks if n.kind in C.MANAGED_NETWORKS and n.bridge}
    default_dev = _default_route_iface(ifaces)
    hostnet = _href("hostnet:host", h)

    for i in ifaces:
        g.node(iid(i.name), C.IFACE, i.name, h, ifkind=C.IFKINDS.get(i.kind, i.kind),
               name=i.name, state=_iface_state(i), mac=i.mac, mtu=i.mtu,
               addresses=[f"{a['address']}/{a['prefixlen']}" for a in i.addresses],
               uplink=False, group=None, href=hostnet)
    for i in ifaces:
        if i.master in names:
            master = names[i.master]
            kind = C.SLAVE if C.IFKINDS.get(master.kind) == "bond" else C.PORT
            g.edge(kind, iid(master.name), iid(i.name), h, iface=i.name)
        # A link whose peer is in another namespace (link_netnsid set) has no parent here: its
        # peer index names a link of that namespace, not the one with that index on this host.
        if i.parent in names and i.link_netnsid is None:
            ifkind = C.IFKINDS.get(i.kind, i.kind)
            if ifkind == "vlan":
                g.edge(C.VLAN_ON, iid(i.parent), iid(i.name), h, iface=i.name)
            elif ifkind == "macvtap":
                g.edge(C.LOWER, iid(i.parent), iid(i.name), h, iface=i.name)
            elif ifkind == "veth" and i.name < i.parent:
                g.edge(C.PEER, iid(i.name), iid(i.parent), h, iface=i.name)

    _lan_segments(g, h, ifaces, names, managed_bridges, rm["segments"])

    forward_targets = set()
    for n in networks:
        nid = f"net:{h}:{n.name}"
        devs = list(n.forward_devs)
        via = "dev" if devs else ""
        if not devs and n.forward_mode in C.ROUTED_MODES and default_dev:
            devs, via = [default_dev], "default route"
        g.node(nid, C.NETWORK, n.name, h, netkind=n.kind, mode=n.forward_mode or "isolated",
               bridge=n.bridge, forward_devs=devs, forward_via=via, subnets=list(n.subnets),
               active=n.active, state=C.UP if n.active else C.INACTIVE,
               bridge_missing=bool(n.bridge) and n.bridge not in names, pk=n.pk,
               href=_href("networks:detail", n.pk))
        if n.bridge in names:
            g.edge(C.USES, nid, iid(n.bridge), h)
        for dev in devs:
            if g.edge(C.FORWARD, nid, iid(dev), h, mode=n.forward_mode, via=via, label=n.forward_mode):
                forward_targets.add(dev)

    vms = {v.uuid: v for v in rm["vms"]}
    for v in sorted(vms.values(), key=lambda v: (v.name, v.uuid)):
        g.node(f"vm:{h}:{v.uuid}", C.VM, v.name, h, state=v.state, group=None, pk=v.pk,
               href=_href("vms:detail", v.pk))
    anchors = {}  # nic id -> the node its VM is grouped under (a network, else a bridge / device)
    for nic in sorted(rm["nics"], key=lambda n: (n.vm_uuid, n.mac)):
        if nic.vm_uuid not in vms:
            continue
        cid = f"nic:{h}:{nic.vm_uuid}:{nic.mac}"
        tap = names.get(nic.target) if nic.target else None
        running = tap is not None
        state = C.DOWN if nic.link_state == "down" else (C.UP if running else C.INACTIVE)
        g.node(cid, C.NIC, nic.ips[0] if nic.ips else nic.mac, h, mac=nic.mac, ips=list(nic.ips),
               type=nic.type, source=nic.source, mode=nic.mode, model=nic.model,
               target=nic.target, link_state=nic.link_state, state=state,
               vm=f"vm:{h}:{nic.vm_uuid}", group=None,
               href=_href("vms:detail", vms[nic.vm_uuid].pk))
        g.edge(C.HAS_NIC, f"vm:{h}:{nic.vm_uuid}", cid, h)
        if running:
            g.edge(C.TAP, iid(tap.name), cid, h, iface=tap.name)
        else:
            src = f"net:{h}:{nic.source}" if nic.type == "network" else iid(nic.source)
            g.edge(C.SOURCE, src, cid, h)
        anchors[cid] = _anchor(g, h, nic, tap, names, networks)

    for dev in forward_targets:
        g.nodes[iid(dev)]["uplink"] = True
    _group(g, h, anchors, group_over)


def _anchor(g, h, nic, tap, names, networks):
    """Where a NIC hangs in the picture: its network if it has one, else its bridge / device."""
    if nic.type == "network" and f"net:{h}:{nic.source}" in g.nodes:
        return f"net:{h}:{nic.source}"
    bridge = (tap.master or tap.parent or tap.name) if tap is not None else nic.source
    for n in networks:
        if n.bridge and n.bridge == bridge:
            return f"net:{h}:{n.name}"
    anchor = f"if:{h}:{bridge}"
    return anchor if anchor in g.nodes else None


def _lan_segments(g, h, ifaces, names, managed_bridges, named):
    """Join interfaces to LAN segment nodes: the one an admin named, else the IPv4 subnet of the
    uplink's address. A bridge's address is on the wire of its uplink ports, so the segment
    attaches to those ports (eth0 under br0), as in the classic diagrams."""
    attach = {}
    for i in ifaces:
        ifkind = C.IFKINDS.get(i.kind, i.kind)
        if ifkind in ("tap", "macvtap") or i.name in managed_bridges:
            continue
        for subnet in _global_subnets(i):
            on = [i.name]
            if ifkind == "bridge":
                ports = [p.name for p in ifaces if p.master == i.name
                         and C.IFKINDS.get(p.kind, p.kind) in ("nic", "bond", "veth", "vlan")]
                on = ports or on
            for name in on:
                attach.setdefault(name, (f"lan:{subnet}", subnet, subnet))
    for ifname, seg in named.items():
        if ifname in names:
            attach[ifname] = (f"lan:name:{seg}", seg, "")
    for ifname, (lan_id, label, subnet) in sorted(attach.items()):
        if lan_id not in g.nodes:
            g.node(lan_id, C.LAN, label, None, subnet=subnet, state=C.UP)
        g.edge(C.ON_LAN, lan_id, f"if:{h}:{ifname}", h, iface=ifname)
        g.nodes[f"if:{h}:{ifname}"]["uplink"] = True


def _group(g, h, anchors, group_over):
    """Collapse the VMs of a network (or bridge) into one node when there are more than
    ``group_over``. Members (the VM, its NICs and their taps) keep their nodes and carry
    ``group``; the page hides them until the group is expanded."""
    vms_on = defaultdict(set)
    for cid, anchor in anchors.items():
        if anchor:
            vms_on[anchor].add(g.nodes[cid]["vm"])
    big = sorted(a for a, vms in vms_on.items() if len(vms) > group_over)
    if not big:
        return
    vm_group = {}
    for anchor in big:  # a VM on two big networks goes with the first
        for vm in sorted(vms_on[anchor]):
            vm_group.setdefault(vm, f"grp:{anchor}")
    members = defaultdict(list)
    for vm, grp in vm_group.items():
        members[grp].append(vm)
        g.nodes[vm]["group"] = grp
    for cid in anchors:
        grp = vm_group.get(g.nodes[cid]["vm"])
        if grp:
            g.nodes[cid]["group"] = grp
            tap = g.nodes[cid]["target"]
            if tap and f"if:{h}:{tap}" in g.nodes:
                g.nodes[f"if:{h}:{tap}"]["group"] = grp
    for anchor in big:
        grp = f"grp:{anchor}"
        if grp in members:
            count = len(members[grp])
            g.node(grp, C.GROUP, f"{count} VMs on {g.nodes[anchor]['label']}", h, count=count,
                   anchor=anchor, state=C.UP)
            g.edge(C.GROUPED, anchor, grp, h)


# -- choosing what to show ----------------------------------------------------------------------

def _stops(g, start):
    """Nodes a neighbourhood walk includes but does not go past: other VMs, LAN segments, and
    uplinks (else one VM's neighbourhood would be everything behind the host's eth0)."""
    def stop(node_id):
        if node_id == start:
            return False
        d = g.nodes[node_id]
        return d["kind"] in (C.VM, C.LAN, C.HOST) or bool(d.get("uplink"))
    return stop


def neighbourhood(g, start):
    """Ids of the nodes around ``start``: its NICs / bridge / network / forward device, the other
    VMs on the same bridges, and the groups they are in."""
    if start not in g.nodes:
        return set()
    adj, stop = g.adjacency(), _stops(g, start)
    seen, todo = {start}, deque([start])
    while todo:
        node = todo.popleft()
        if stop(node):
            continue
        for other, _ in adj[node]:
            if other not in seen:
                seen.add(other)
                todo.append(other)
    seen |= {g.nodes[n]["group"] for n in seen if g.nodes[n].get("group")}
    return seen


def without(g, networks=(), vms=()):
    """``g`` without the given networks and VMs (database pks), the NICs of those VMs, and
    the edges touching them; group nodes count only the VMs left (and go when none is)."""
    gone = {i for i, d in g.nodes.items()
            if (d["kind"] == C.NETWORK and d.get("pk") in networks)
            or (d["kind"] == C.VM and d.get("pk") in vms)}
    gone |= {i for i, d in g.nodes.items() if d["kind"] == C.NIC and d["vm"] in gone}
    if not gone:
        return g
    out = g.subgraph(set(g.nodes) - gone)
    for grp, d in list(out.nodes.items()):
        if d["kind"] != C.GROUP:
            continue
        count = sum(1 for m in out.nodes.values() if m["kind"] == C.VM and m["group"] == grp)
        if count and d["anchor"] in out.nodes:
            out.nodes[grp] = {**d, "count": count,
                              "label": f"{count} VMs on {out.nodes[d['anchor']]['label']}"}
            continue
        out.nodes.pop(grp)  # its network is hidden, or all its VMs: the rest stand alone
        out.edges = {i: e for i, e in out.edges.items() if e["target"] != grp}
        for i, m in out.nodes.items():
            if m.get("group") == grp:
                out.nodes[i] = {**m, "group": None}
    return out


def select(g, focus=ALL):
    """The part of ``g`` a focus asks for."""
    if focus.kind == "all":
        return g
    if focus.kind == "host":
        ids = {i for i, d in g.nodes.items() if d["host"] == focus.host}
        ids |= {e["source"] for e in g.edges.values()
                if e["host"] == focus.host and e["kind"] == C.ON_LAN}
        return g.subgraph(ids)
    return g.subgraph(neighbourhood(g, focus.start_id()))


def host_part(g, host_pk):
    """What one host contributes: its nodes and edges, and the LAN nodes its uplinks join.
    {"nodes": {id: data}, "edges": {id: data}} — the unit versions and deltas are kept for."""
    part = select(g, Focus("host", host_pk))
    return {"nodes": part.nodes, "edges": part.edges}


def compute(host_ids, focus=ALL, group_over=GROUP_OVER):
    """The graph of the given hosts (those a user may see) for a focus, from the database."""
    from .readmodel import load

    host_ids = set(host_ids)
    if focus.host is not None:
        host_ids &= {focus.host}
    return select(build(load(host_ids), group_over), focus)


# -- paths --------------------------------------------------------------------------------------

def path(g, a, b):
    """The shortest chain of elements joining nodes ``a`` and ``b`` (e.g. two VM NICs), as
    [node, edge, node, ..., node] ids; [] when they are not joined. The walk never passes
    through a VM (a VM with two NICs is not a wire) or a host box, and ignores collapsing."""
    if a not in g.nodes or b not in g.nodes:
        return []
    adj = g.adjacency()
    came = {a: None}
    todo = deque([a])
    while todo:
        node = todo.popleft()
        if node == b:
            break
        if node != a and g.nodes[node]["kind"] == C.VM:
            continue
        for other, edge in sorted(adj[node]):
            if other not in came:
                came[other] = (node, edge)
                todo.append(other)
    if b not in came:
        return []
    chain, node = [b], b
    while came[node] is not None:
        node, edge = came[node]
        chain[:0] = [node, edge]
    return chain
