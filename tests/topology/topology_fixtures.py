"""Hand-made read models for the topology tests and the benchmark (no database needed)."""

from topology.readmodel import HostRec, IfaceRec, NetRec, NicRec, ReadModel, SegmentRec, VMRec


def addr(cidr, scope=0):
    ip, plen = cidr.split("/")
    return {"family": "inet6" if ":" in ip else "inet", "address": ip, "prefixlen": int(plen),
            "scope": scope}


def default_route():
    return [{"family": "inet", "dst": "default", "gateway": "10.79.1.1", "metric": 0}]


def classic_host(model, pk, name, uplink_ip, vms=("pxe1",), status="online"):
    """The lab's KVM host: eth0 on the LAN with the default route, the default NAT network on
    virbr0, and running VMs each with one NIC on vnetN (port of virbr0)."""
    model.hosts.append(HostRec(pk=pk, name=name, status=status))
    model.ifaces += [
        IfaceRec(host=pk, name="lo", kind="loopback", addresses=[addr("127.0.0.1/8", 254)]),
        IfaceRec(host=pk, name="eth0", kind="veth", mac=f"52:54:00:00:00:{pk:02x}",
                 addresses=[addr(uplink_ip)], routes=default_route()),
        IfaceRec(host=pk, name="virbr0", kind="bridge", addresses=[addr("192.168.122.1/24")]),
    ]
    model.networks.append(NetRec(host=pk, name="default", kind="nat", bridge="virbr0",
                                 forward_mode="nat", subnets=["192.168.122.0/24"]))
    for n, vm in enumerate(vms):
        add_vm(model, pk, vm, f"uuid-{pk}-{vm}", "virbr0", f"vnet{n}", network="default",
               mac=f"52:54:00:{pk:02x}:{n // 256:02x}:{n % 256:02x}")
    return model


def add_vm(model, host, name, uuid, bridge, tap, network="", mac="52:54:00:aa:bb:cc",
           running=True, ips=()):
    """A VM with one NIC: on ``network`` (type network) or straight on ``bridge``."""
    model.vms.append(VMRec(host=host, uuid=uuid, name=name,
                           state="running" if running else "shut off"))
    if running:
        model.ifaces.append(IfaceRec(host=host, name=tap, kind="tun/tap", master=bridge))
    model.nics.append(NicRec(host=host, vm_uuid=uuid, mac=mac,
                             type="network" if network else "bridge",
                             source=network or bridge, target=tap if running else "",
                             ips=list(ips)))


def two_hosts():
    model = ReadModel()
    classic_host(model, 1, "kvm1", "10.79.1.11/24")
    classic_host(model, 2, "kvm2", "10.79.1.12/24")
    return model


def bonded_bridge_host(model, pk=3):
    """eth1 + eth2 bonded into bond0, bond0 a port of br0 (which holds the LAN address), a
    bridge-mode network on br0 and a VM on it."""
    model.hosts.append(HostRec(pk=pk, name=f"kvm{pk}"))
    model.ifaces += [
        IfaceRec(host=pk, name="eth1", kind="physical", master="bond0"),
        IfaceRec(host=pk, name="eth2", kind="physical", master="bond0"),
        IfaceRec(host=pk, name="bond0", kind="bond", master="br0"),
        IfaceRec(host=pk, name="br0", kind="bridge", addresses=[addr("10.20.0.5/24")],
                 routes=default_route()),
    ]
    model.networks.append(NetRec(host=pk, name="host-br", kind="bridge", bridge="br0",
                                 forward_mode="bridge"))
    add_vm(model, pk, "web", "uuid-web", "br0", "vnet0", network="host-br")
    return model


__all__ = ["addr", "add_vm", "bonded_bridge_host", "classic_host", "two_hosts", "HostRec",
           "IfaceRec", "NetRec", "NicRec", "ReadModel", "SegmentRec", "VMRec"]
