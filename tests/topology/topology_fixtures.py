"""Hand-made read models for the topology tests and the benchmark (no database needed)."""

from topology.readmodel import HostRec, IfaceRec, NetRec, NicRec, ReadModel, SegmentRec, VMRec


def addr(cidr, scope=0):
    ip, plen = cidr.split("/")
    return {"family": "inet6" if ":" in ip else "inet", "address": ip, "prefixlen": int(plen),
            "scope": scope}


def default_route():
    return [{"family": "inet", "dst": "default", "gateway": "10.79.1.1", "metric": 0}]


DEFAULT_XML = """<network>
  <name>default</name><uuid>6b1a8d55-5a3a-4a7e-9d2c-0f3b1d9e2a11</uuid>
  <forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>
  <bridge name='virbr0' stp='on' delay='0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp>
  </ip>
</network>"""
MAC = "52:54:00:6a:01:01"


def store_classic_host(name, address, vm="pxe1", uuid="uuid-pxe1"):
    """Rows as a sync stores them for the lab's classic host; clears its published topology."""
    from hosts.models import Host, HostInterface
    from networks.models import Lease, Network
    from operations.locks import client as redis_client
    from vms.models import Domain, DomainInterface

    host = Host.objects.create(name=name, uri=f"qemu+ssh://root@{address}/system",
                               status=Host.Status.ONLINE)
    r = redis_client()
    for key in r.scan_iter(f"kvmweb:topology:host{host.pk}*"):  # pks are reused between tests
        r.delete(key)

    def iface(name, kind, **kw):
        HostInterface.objects.create(host=host, name=name, kind=kind, up=True, carrier=True,
                                     state="up", **kw)

    iface("eth0", "veth", addresses=[addr(f"{address}/24")],
          stats={"rx_bytes": 1, "routes": default_route()})
    iface("virbr0", "bridge")
    iface("vnet0", "tun/tap", master="virbr0")
    net = Network.objects.create(host=host, name="default", uuid="6b1a8d55", xml=DEFAULT_XML,
                                 active=True, kind="nat", bridge="virbr0",
                                 subnets=["192.168.122.0/24"])
    Lease.objects.create(network=net, mac=MAC, ip="192.168.122.77", prefix=24)
    dom = Domain.objects.create(host=host, name=vm, uuid=uuid, state="running", xml="")
    DomainInterface.objects.create(domain=dom, mac=MAC, type="network", source="default",
                                   target="vnet0")
    return host


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


__all__ = ["MAC", "store_classic_host", "addr", "add_vm", "bonded_bridge_host", "classic_host", "two_hosts", "HostRec",
           "IfaceRec", "NetRec", "NicRec", "ReadModel", "SegmentRec", "VMRec"]
