"""Golden edits (data/network-*-in.xml -> -out.xml) and building from scratch."""

from __future__ import annotations

import pytest

from kvmweb.virt.xml import Network, XMLError
from xml_testutil import canon, read


def _edit_add_static_host(net):
    dhcp = net.ips[0].dhcp
    dhcp.ranges[0].end = "192.168.120.199"
    dhcp.ranges[0].lease_expiry = 12
    dhcp.ranges[0].lease_unit = "hours"
    dhcp.hosts.remove(dhcp.hosts.find(name="old"))
    host = dhcp.hosts.add(mac="52:54:00:AB:CD:EF", name="web01", ip="192.168.120.20")
    host.lease_expiry = 0
    assert host.mac == "52:54:00:ab:cd:ef"


def _edit_nat_to_routed(net):
    net.forward.mode = "route"
    net.forward.dev = "eth0"
    net.forward.nat = None
    net.domain_name = "lab21.example.com"
    net.domain_local_only = True
    net.routes.add(address="10.99.0.0", prefix=16, gateway="10.21.0.2")
    assert net.kind == "route"


def _edit_isolate(net):
    net.forward = None
    net.dns.enable = False
    net.port_isolated = True
    assert net.kind == "isolated"


def _edit_unknown(net):
    net.forward.mode = "route"
    net.stp = False
    net.delay = None          # bridge survives: it still has name and an unknown attr
    net.mtu = 9000
    ip = net.ips[0]
    ip.dhcp.ranges[0].end = "10.23.0.150"
    ip.dhcp.hosts.add(mac="52:54:00:23:00:99", ip="10.23.0.9")


def _edit_portgroup(net):
    default = net.portgroup("default")
    default.bandwidth.inbound.average = 2000
    default.bandwidth.inbound.peak = 4000
    default.bandwidth.outbound.average = 500
    net.portgroup("legacy").virtualport = None
    trunk = net.portgroups.add(name="trunk")
    trunk.vlan.trunk = True
    trunk.vlan.tags.add(id=20, native_mode="untagged")
    trunk.vlan.tags.add(id=30)


def _edit_dns(net):
    dns = net.dns
    dns.forward_plain_names = True
    dns.forwarders.add(addr="2001:db8::53", domain="corp.example.com")
    dns.srvs.clear()
    dns.txts.add(name="owner", value="team-b")
    host = dns.hosts[0]
    host.hostnames = host.hostnames + ["db-primary", "postgres"]


def _edit_add_ipv6(net):
    net.ipv6 = True
    net.forward.nat.ipv6 = True
    ip6 = net.ips.add(family="ipv6", address="fd00:26::1", prefix=64)
    ip6.dhcp.ranges.add(start="fd00:26::100", end="fd00:26::1ff")
    ip6.dhcp.hosts.add(id="0:3:0:1:52:54:0:26:0:10", name="v6guest", ip="fd00:26::10")


def _edit_macvtap_mode(net):
    net.forward.mode = "vepa"
    fwd = net.forward
    fwd.interfaces.remove(fwd.interfaces.find(dev="eth3"))
    fwd.interfaces.add(dev="eth5")
    assert net.kind == "macvtap-vepa"


GOLDEN = {
    "add-static-host": _edit_add_static_host,
    "nat-to-routed": _edit_nat_to_routed,
    "isolate": _edit_isolate,
    "unknown": _edit_unknown,
    "portgroup": _edit_portgroup,
    "dns-edit": _edit_dns,
    "add-ipv6": _edit_add_ipv6,
    "macvtap-mode": _edit_macvtap_mode,
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_edit(name):
    net = Network.from_xml(read(f"network-{name}-in.xml"))
    GOLDEN[name](net)
    assert canon(net.to_xml()) == canon(read(f"network-{name}-out.xml"))


def test_unknown_content_survives_edits_verbatim():
    net = Network.from_xml(read("network-unknown-in.xml"))
    _edit_unknown(net)
    out = net.to_xml()
    for needle in ('futureRootAttr="keep-me"', 'futureBridgeAttr="1"', "<child>text survives</child>",
                   'futureIpAttr="z"', 'futureRangeAttr="q"', "<futureDhcpThing/>",
                   "<!-- managed by kvmweb; do not edit by hand -->"):
        assert needle in out


# -- building whole documents from scratch reproduces the data files ---------------

def build_nat_default():
    net = Network.new(name="nat-default", uuid="0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a01")
    net.mac = "52:54:00:0A:CD:21"
    net.bridge_name, net.stp, net.delay = "virbr0", True, 0
    net.forward.mode = "nat"
    net.forward.nat.port_start, net.forward.nat.port_end = 1024, 65535
    ip = net.ips.add(address="192.168.122.1", netmask="255.255.255.0")
    ip.dhcp.ranges.add(start="192.168.122.2", end="192.168.122.254")
    return net, "network-nat-default.xml"


def build_routed():
    net = Network.new(name="routed-lab", uuid="0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a02")
    net.routes.add(address="10.10.200.0", prefix=24, gateway="10.10.120.2")
    net.routes.add(address="10.10.201.0", netmask="255.255.255.0", gateway="10.10.120.3", metric=2)
    net.ips.add(address="10.10.120.1", prefix=24).dhcp.ranges.add(start="10.10.120.2", end="10.10.120.127")
    net.domain_name, net.domain_local_only = "routed.example.com", True
    net.mac = "52:54:00:17:3f:0a"
    net.update(bridge_name="virbr1", stp=True, delay=0)
    net.forward.update(mode="route", dev="eth1")
    return net, "network-routed.xml"


def build_isolated():
    net = Network.new(name="isolated-lab", uuid="0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a04", ipv6=True)
    net.description = "No forwarding: guests only reach each other and the host."
    net.title = "Isolated test network"
    net.ips.add(address="172.16.30.1", prefix=24).dhcp.ranges.add(start="172.16.30.10", end="172.16.30.99")
    net.port_isolated = True
    net.dns.enable = False
    net.update(mac="52:54:00:5e:00:04", bridge_name="virbr3", stp=True, delay=0, mac_table_manager="libvirt")
    return net, "network-isolated.xml"


def build_open():
    net = Network.new(name="open-lab", uuid="0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a03")
    net.update(bridge_name="virbr2", stp=False, delay=2, zone="trusted", mac="52:54:00:28:91:bc")
    net.forward.mode = "open"
    net.ips.add(address="192.168.150.1", prefix=24)
    return net, "network-open.xml"


def build_ovs():
    net = Network.new(name="ovs-net", uuid="0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a06", bridge_name="ovsbr0")
    pg = net.portgroups.add(name="dontpanic")
    pg.vlan.tags.add(id=42)
    net.virtualport.type = "openvswitch"
    net.virtualport.interface_id = "09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f"
    net.vlan.trunk = True
    net.vlan.tags.add(id=42, native_mode="untagged")
    net.vlan.tags.add(id=47)
    net.forward.mode = "bridge"
    return net, "network-ovs.xml"


def build_hostdev_pf():
    net = Network.new(name="hostdev-pf", uuid="0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a21")
    net.forward.pf_dev = "enp3s0f0"
    net.forward.update(mode="hostdev", managed=True, driver_name="vfio")
    return net, "network-hostdev-pf.xml"


def build_hostdev_addresses():
    net = Network.new(name="hostdev-vfs", uuid="0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a22")
    net.forward.update(mode="hostdev", managed=False)
    for fn in (1, 3):
        net.forward.addresses.add(type="pci", domain=0, bus=4, slot=16, function=fn)
    return net, "network-hostdev-addresses.xml"


def build_ipv6():
    net = Network.new(name="dual-stack", uuid="0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a23", ipv6=True)
    net.forward.mode = "nat"
    net.forward.nat.ipv6 = True
    net.update(bridge_name="virbr6", stp=True, delay=0, mac="52:54:00:66:00:01")
    net.routes.add(family="ipv6", address="2001:db8:ca2:3::", prefix=64, gateway="2001:db8:ca2:2::2", metric=2)
    v4 = net.ips.add(address="192.168.66.1", prefix=24, local_ptr=True)
    v4.dhcp.ranges.add(start="192.168.66.100", end="192.168.66.199")
    v6 = net.ips.add(family="ipv6", address="2001:db8:ca2:2::1", prefix=64, local_ptr=True)
    v6.dhcp.hosts.add(id="0:4:7e:7d:f0:7d:a8:bc:c5:d2:13:32:11:ed:16:ea:84:63", name="paul",
                      ip="2001:db8:ca2:2:3::1")
    v6.dhcp.hosts.add(id="0:3:0:1:0:16:3e:11:22:33", name="ralph", ip="2001:db8:ca2:2:3::2",
                      lease_expiry=30, lease_unit="minutes")
    v6.dhcp.hosts.add(name="wendy", ip="2001:db8:ca2:2:3::3")
    v6.dhcp.ranges.add(start="2001:db8:ca2:2:1::10", end="2001:db8:ca2:2:1::ff", lease_expiry=2,
                       lease_unit="hours")
    return net, "network-ipv6-dhcpv6.xml"


def build_dns():
    net = Network.new(name="dns-lab", uuid="0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a25")
    net.forward.mode = "nat"
    net.update(bridge_name="virbr8", stp=True, delay=0, mac="52:54:00:88:00:01",
               domain_name="dns.example.com", domain_local_only=False)
    dns = net.dns
    dns.update(enable=True, forward_plain_names=False)
    dns.hosts.add(ip="192.168.88.2", hostnames=["myhost", "myhostalias"])
    dns.hosts.add(ip="2001:db8:88::2").hostnames = ["v6host"]
    dns.srvs.add(service="name", protocol="tcp", domain="test-domain-name", target=".", port=1024,
                 priority=10, weight=10)
    dns.srvs.add(service="ldap", protocol="udp")
    dns.txts.add(name="example", value="example value")
    dns.forwarders.add(domain="example.com", addr="8.8.4.4")
    dns.forwarders.add(addr="8.8.8.8")
    dns.forwarders.add(domain="www.example.com")
    net.ips.add(address="192.168.88.1", prefix=24).dhcp.ranges.add(start="192.168.88.100",
                                                                   end="192.168.88.200")
    return net, "network-dns.xml"


def build_portgroups():
    net = Network.new(name="portgroups", uuid="0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a26")
    for name, default, profile, inb, outb in (
            ("engineering", True, "test", (1000, 5000, 5120), (1000, 5000, 5120)),
            ("sales", None, "salestest", (500, 2000, 2560), (128, 256, 256))):
        pg = net.portgroups.add(name=name, default=default)
        pg.bandwidth.outbound.update(average=outb[0], peak=outb[1], burst=outb[2])
        pg.bandwidth.inbound.update(average=inb[0], peak=inb[1], burst=inb[2])
        pg.virtualport.update(type="802.1Qbh", profile_id=profile)
    net.virtualport.update(type="802.1Qbh", profile_id="network-profile")
    net.forward.update(mode="private", dev="eth0")
    net.forward.interfaces.add(dev="eth0")
    return net, "network-portgroups.xml"


def build_portgroup_vlans():
    net = Network.new(name="ovs-vlans", uuid="0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a27")
    net.virtualport.type = "openvswitch"
    net.bridge_name = "ovsbr1"
    net.forward.mode = "bridge"
    pg = net.portgroups.add(name="vlan-all", default=True)
    pg.vlan.trunk = True
    for tag in (42, 47):
        pg.vlan.tags.add(id=tag)
    pg.vlan.tags.add(id=100, native_mode="tagged")
    net.portgroups.add(name="vlan-42").vlan.tags.add(id=42)
    pg = net.portgroups.add(name="native-untagged", trust_guest_rx_filters=True)
    pg.virtualport.update(type="openvswitch", profile_id="native")
    pg.vlan.trunk = True
    pg.vlan.tags.add(id=123, native_mode="untagged")
    pg.vlan.tags.add(id=444)
    return net, "network-portgroup-vlans.xml"


def build_bandwidth():
    net = Network.new(name="bandwidth", uuid="0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a28",
                      trust_guest_rx_filters=False)
    net.ips.add(address="192.168.99.1", prefix=24)
    net.bandwidth.inbound.update(average=1000, peak=5000, burst=1024)
    net.bandwidth.outbound.update(average=2000, peak=6000, burst=2048)
    net.update(bridge_name="virbr9", stp=True, delay=0, mac="52:54:00:99:00:01")
    net.forward.mode = "nat"
    return net, "network-bandwidth.xml"


def build_nat_ports():
    net = Network.new(name="nat-ports", uuid="0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a29")
    net.forward.update(mode="nat", dev="eth0")
    net.forward.nat.update(address_start="203.0.113.10", address_end="203.0.113.20",
                           port_start=500, port_end=1000)
    net.update(bridge_name="virbr11", stp=True, delay=0, mac="52:54:00:11:11:01")
    net.ips.add(address="192.168.111.1", prefix=24)
    return net, "network-nat-ports.xml"


def build_mtu_tftp_metadata():
    net = Network.new(name="pxe", uuid="0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a31")
    net.forward.mode = "nat"
    net.update(bridge_name="virbr13", stp=True, delay=0, mac="52:54:00:13:13:01")
    ip = net.ips.add(address="192.168.113.1", prefix=24)
    ip.dhcp.bootp_file, ip.dhcp.bootp_server = "pxelinux.0", "192.168.113.1"
    ip.dhcp.ranges.add(start="192.168.113.100", end="192.168.113.200")
    ip.tftp_root = "/var/lib/tftpboot"
    return net, "network-tftp-bootp.xml"


def build_mtu():
    net = Network.new(name="jumbo", uuid="0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a30", mtu=9000)
    net.ips.add(address="192.168.112.1", prefix=24)
    net.update(mac="52:54:00:12:12:01", bridge_name="virbr12", stp=True, delay=0)
    net.forward.mode = "route"
    return net, "network-mtu.xml"


def build_macvtap_bridge():
    net = Network.new(name="macvtap-bridge", uuid="0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a07")
    net.forward.update(mode="bridge", dev="eth5")
    for dev in ("eth5", "eth6"):
        net.forward.interfaces.add(dev=dev)
    return net, "network-macvtap-bridge.xml"


BUILDERS = [v for k, v in sorted(globals().items()) if k.startswith("build_")]


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda f: f.__name__)
def test_build_from_scratch_matches_data_file(builder):
    net, filename = builder()
    assert canon(net.to_xml()) == canon(read(filename))


def test_build_metadata_with_foreign_namespace():
    src = Network.from_xml(read("network-metadata.xml"))
    net = Network.new(name="with-metadata", uuid="0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a32")
    net.ips.add(address="192.168.114.1", prefix=24)
    net.forward.mode = "nat"
    net.update(bridge_name="virbr14", stp=True, delay=0, mac="52:54:00:14:14:01")
    net.metadata = src.metadata            # deep-copied in, placed after <uuid>
    assert net.metadata is not src.metadata
    src.metadata = None
    assert src.metadata is None and "<metadata" not in src.to_xml()
    out = net.to_xml()
    assert out.index("</uuid>") < out.index("<metadata>") < out.index("<forward")
    assert "kvmweb:owner" in out and "https://kvmweb.example/xmlns/network/1.0" in out
    with pytest.raises(XMLError, match="expected <metadata>"):
        net.metadata = src.root
