"""Rows that make the API answer with real data: two hosts with networks, leases, VMs with NICs,
interfaces, pools and volumes. Created directly in the database, no host is ever contacted:
their URIs point at a loopback port where nothing listens, and no worker serves the queue the
server enqueues on."""

from django.utils import timezone

NAT_XML = """<network>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <forward mode='nat'/>
  <bridge name='{bridge}' stp='on' delay='0'/>
  <dns>
    <host ip='{prefix}.2'><hostname>db</hostname></host>
  </dns>
  <ip address='{prefix}.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='{prefix}.128' end='{prefix}.254'/>
      <host mac='52:54:00:00:01:01' name='web' ip='{prefix}.10'/>
    </dhcp>
  </ip>
  <portgroup name='web'/>
</network>"""

DOMAIN_XML = """<domain type='qemu'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='KiB'>262144</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <interface type='network'>
      <mac address='{mac}'/>
      <source network='default'/>
      <target dev='vnet{index}'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>"""


def seed(owner=None):
    """Create the rows; returns the hosts. ``owner`` (a plain user) gets no special rights."""
    from hosts.models import Host, HostInterface
    from networks.models import Lease, Network
    from vms.models import Domain, DomainInterface, StoragePool, Volume

    hosts = []
    for index in (1, 2):
        host = Host.objects.create(
            name=f"kvm{index}", uri=f"qemu+ssh://root@127.0.0.1:{9 + index}/system",
            host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKc8k8v5pJ2n9o0m3l4k5j6h7g8f9d0s1a2q3w4e5r6t",
            host_key_fingerprint="SHA256:seed", status=Host.Status.ONLINE,
            last_seen=timezone.now(), hostname=f"kvm{index}.lab", libvirt_version="9.0.0")
        hosts.append(host)
        for name, kind, addresses in (("lo", "loopback", ["127.0.0.1/8"]),
                                      ("eth0", "veth", [f"10.74.0.{10 + index}/24"]),
                                      ("br0", "bridge", []), ("virbr0", "bridge", ["192.168.122.1/24"]),
                                      ("vnet0", "tun/tap", [])):
            HostInterface.objects.create(
                host=host, name=name, kind=kind, mtu=1500, state="up",
                master="virbr0" if name == "vnet0" else "",
                addresses=[{"family": "inet", "address": a.split("/")[0],
                            "prefixlen": int(a.split("/")[1]), "scope": 0} for a in addresses])
        for n, (name, bridge, prefix) in enumerate((("default", "virbr0", "192.168.122"),
                                                    ("lab", "virbr1", f"192.168.{150 + index}"))):
            uuid = f"1a1a1a1a-0000-4000-8000-0000000{index}00{n}"
            net = Network.objects.create(
                host=host, name=name, uuid=uuid, active=True, autostart=True, kind="nat",
                bridge=bridge, subnets=[f"{prefix}.0/24"], dhcp=True,
                xml=NAT_XML.format(name=name, uuid=uuid, bridge=bridge, prefix=prefix))
            Lease.objects.create(network=net, mac="52:54:00:00:01:01", ip=f"{prefix}.10",
                                 prefix=24, hostname="web", expiry=timezone.now())
        for n in range(2):
            uuid = f"6c1d9c1e-3f0a-4d57-9a43-7d1f3b2a{index}{n:03d}"
            mac = f"52:54:00:00:0{index}:0{n}"
            dom = Domain.objects.create(
                host=host, name=f"vm{n}", uuid=uuid, state="running" if n == 0 else "shut off",
                vcpus=1, memory_kib=262144,
                xml=DOMAIN_XML.format(name=f"vm{n}", uuid=uuid, mac=mac, index=n))
            DomainInterface.objects.create(domain=dom, mac=mac, type="network", source="default",
                                           model="virtio", target=f"vnet{n}" if n == 0 else "")
        pool = StoragePool.objects.create(host=host, name="default", uuid=f"5e5e5e5e-0000-4000-8000-00000000000{index}",
                                          type="dir", path="/var/lib/libvirt/images", active=True,
                                          capacity=10 << 30, allocation=1 << 30, available=9 << 30)
        Volume.objects.create(pool=pool, name="vm0.qcow2", path="/var/lib/libvirt/images/vm0.qcow2",
                              capacity=1 << 30, allocation=1 << 20, format="qcow2")
    seed_drift(hosts[0])
    _probe(hosts[0])
    return hosts


def seed_drift(host):
    """kvm1's lab network changed outside kvmweb: an open drift."""
    from hosts.signals import definitions_were_read
    from networks.models import Network

    definitions_were_read(host.pk, "sync")  # the first read: every baseline
    net = Network.objects.get(host=host, name="lab")
    net.xml = net.xml.replace("<portgroup name='web'/>", "<portgroup name='db'/>")
    net.save()
    definitions_were_read(host.pk, "watcher: periodic network read", [net.target])


def _probe(host):
    """A stored active probe (reachability), for the probe list and detail answers (without
    its operation: the schema test checks that no operation ran)."""
    from reachability.models import Probe

    ping = {"kind": "host-ping", "host": host.pk, "direction": "a-to-b", "to": "192.168.122.10",
            "iface": "", "title": f"ping vm0 from {host.name}"}
    guest = {"kind": "guest-ping", "host": host.pk, "direction": "b-to-a", "vm": "x",
             "to": "10.0.0.1", "title": "ping from inside vm0 (qemu-guest-agent)"}
    Probe.objects.create(
        source=f"host:{host.pk}", destination="ip:192.168.122.10",
        source_label=host.name, destination_label="vm0", verdict="reachable", forward=True,
        backward=True, planned=[ping, guest], results=[
            {**ping, "command": ["ping", "-c", "3", "-W", "2", "192.168.122.10"], "sent": 3,
             "received": 3, "output": "3 packets transmitted, 3 received"},
            {**guest, "command": ["ping", "-c", "3", "-W", "2", "10.0.0.1"], "sent": None,
             "received": None, "output": "", "unavailable": "guest agent not available"}])


def seed_teams(admin_of):
    """Two teams: "web", whose team admin is ``admin_of`` (a plain user: members only, no host
    granted, so it changes nothing else the user sees), with a pool and a quota; "ops", granted
    kvm1 with a bridge and holding a pool (administrators see it)."""
    from hosts.models import Host
    from teams.models import AddressPool, HostGrant, Membership, Team

    web = Team.objects.create(name="web", description="the web team", max_vms=4)
    Membership.objects.create(team=web, user=admin_of, role="admin")
    AddressPool.objects.create(team=web, cidr="10.60.0.0/16")
    ops = Team.objects.create(name="ops")
    HostGrant.objects.create(team=ops, host=Host.objects.get(name="kvm1"), bridges=["br0"])
    AddressPool.objects.create(team=ops, cidr="10.61.0.0/16")
    return web, ops
