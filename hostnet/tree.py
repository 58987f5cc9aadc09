"""The interface tree of a host from the read model: bridge -> ports (with STP state),
bond -> slaves, parent -> VLANs, and the VM owning each vnet/macvtap port."""

from vms.models import DomainInterface


def vm_owners(host, user=None):
    """{tap/macvtap name: VM name} from the domains' live NICs (DomainInterface.target); with
    ``user``, only the VMs that user may see (another team's VM names stay hidden)."""
    nics = DomainInterface.objects.filter(domain__host=host).exclude(target="")
    if user is not None:
        from vms.access import visible_vms

        nics = nics.filter(domain__in=visible_vms(user))
    return {nic.target: nic.domain.name for nic in nics.select_related("domain")}


def build(host, user=None):
    """A list of nodes {iface, vm, stp, port_state, children: [...], relation}, roots first."""
    rows = list(host.interfaces.all())
    owners = vm_owners(host, user)
    by_name = {i.name: i for i in rows}
    children = {}
    for iface in rows:
        if iface.master and iface.master in by_name:
            children.setdefault(iface.master, []).append((iface, "port"))
        elif iface.parent and iface.parent in by_name and iface.kind in ("vlan", "macvtap",
                                                                          "macvlan"):
            children.setdefault(iface.parent, []).append((iface, iface.kind))

    def node(iface, relation, depth):
        stats = iface.stats or {}
        return {"iface": iface, "name": iface.name, "kind": iface.kind, "relation": relation,
                "depth": depth, "vm": owners.get(iface.name, ""),
                "stp": stats.get("stp"), "forward_delay": stats.get("forward_delay"),
                "port_state": stats.get("port_state", ""),
                "addresses": iface.address_list,
                "children": [node(c, rel, depth + 1)
                             for c, rel in sorted(children.get(iface.name, []),
                                                  key=lambda x: x[0].name)]}

    placed = {c.name for kids in children.values() for c, _ in kids}
    return [node(i, "", 0) for i in rows if i.name not in placed]


def flatten(nodes):
    """Depth-first rows for a table."""
    for n in nodes:
        yield n
        yield from flatten(n["children"])


def as_data(nodes):
    """JSON for the API."""
    return [{"name": n["name"], "kind": n["kind"], "relation": n["relation"], "vm": n["vm"],
             "state": n["iface"].state, "up": n["iface"].up, "mac": n["iface"].mac,
             "mtu": n["iface"].mtu, "addresses": n["addresses"], "stp": n["stp"],
             "forward_delay": n["forward_delay"], "port_state": n["port_state"],
             "children": as_data(n["children"])} for n in nodes]
