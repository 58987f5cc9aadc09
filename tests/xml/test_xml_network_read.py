"""Reading every modelled network value from realistic documents."""

from __future__ import annotations

from ipaddress import ip_address as IP
from ipaddress import ip_network

import pytest

from kvmweb.virt.xml import Network
from xml_testutil import read, resolve

EXPECTED = {
    "network-nat-default.xml": {
        "name": "nat-default", "uuid": "0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a01",
        "kind": "nat", "forward_mode": "nat", "forward.mode": "nat",
        "forward.nat.port_start": 1024, "forward.nat.port_end": 65535,
        "forward.nat.address_start": None, "forward.nat.ipv6": None,
        "bridge_name": "virbr0", "stp": True, "delay": 0, "mac": "52:54:00:0a:cd:21",
        "ips[0].address": IP("192.168.122.1"), "ips[0].netmask": IP("255.255.255.0"),
        "ips[0].prefix": None, "ips[0].family": None, "ips[0].is_ipv6": False,
        "ips[0].dhcp.ranges[0].start": IP("192.168.122.2"),
        "ips[0].dhcp.ranges[0].end": IP("192.168.122.254"),
        "is_managed_bridge": True, "title": None, "metadata": None,
    },
    "network-routed.xml": {
        "kind": "route", "forward.dev": "eth1", "domain_name": "routed.example.com",
        "domain_local_only": True, "ips[0].prefix": 24,
        "routes[0].address": IP("10.10.200.0"), "routes[0].prefix": 24,
        "routes[0].gateway": IP("10.10.120.2"), "routes[0].metric": None,
        "routes[1].netmask": IP("255.255.255.0"), "routes[1].metric": 2,
        "routes[1].family": None,
    },
    "network-open.xml": {
        "kind": "open", "stp": False, "delay": 2, "zone": "trusted",
        "ips[0].dhcp.exists": False, "ips[0].tftp_root": None,
    },
    "network-isolated.xml": {
        "kind": "isolated", "forward_mode": None, "forward.exists": False,
        "ipv6": True, "title": "Isolated test network",
        "description": "No forwarding: guests only reach each other and the host.",
        "mac_table_manager": "libvirt", "dns.enable": False, "port_isolated": True,
        "mtu": None, "trust_guest_rx_filters": None,
    },
    "network-host-bridge.xml": {
        "kind": "bridge", "bridge_name": "br0", "stp": None, "is_managed_bridge": False,
        "forward.devs": [],
    },
    "network-ovs.xml": {
        "kind": "bridge", "virtualport.type": "openvswitch",
        "virtualport.interface_id": "09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f",
        "vlan.trunk": True, "vlan.ids": [42, 47], "vlan.tags[0].native_mode": "untagged",
        "vlan.tags[1].native_mode": None, "portgroups[0].name": "dontpanic",
        "portgroups[0].vlan.tags[0].id": 42, "portgroups[0].vlan.trunk": None,
    },
    "network-macvtap-private.xml": {"kind": "macvtap-private", "forward.devs": ["eth2", "eth3", "eth4"]},
    "network-macvtap-vepa.xml": {"kind": "macvtap-vepa", "forward.interfaces[1].dev": "eth3"},
    "network-macvtap-passthrough.xml": {"kind": "macvtap-passthrough", "bridge_name": None},
    "network-macvtap-bridge.xml": {"kind": "macvtap-bridge", "forward.dev": "eth5",
                                   "forward.devs": ["eth5", "eth6"]},
    "network-hostdev-pf.xml": {
        "kind": "hostdev", "forward.managed": True, "forward.driver_name": "vfio",
        "forward.pf_dev": "enp3s0f0",
    },
    "network-hostdev-addresses.xml": {
        "kind": "hostdev", "forward.managed": False, "forward.pf_dev": None,
        "forward.addresses[0].type": "pci", "forward.addresses[0].domain": 0,
        "forward.addresses[0].bus": 4, "forward.addresses[0].slot": 16,
        "forward.addresses[1].function": 3,
    },
    "network-ipv6-dhcpv6.xml": {
        "ipv6": True, "forward.nat.ipv6": True, "ips[0].local_ptr": True,
        "ips[1].family": "ipv6", "ips[1].is_ipv6": True,
        "ips[1].address": IP("2001:db8:ca2:2::1"), "ips[1].prefix": 64,
        "ips[1].dhcp.ranges[0].lease_expiry": 2, "ips[1].dhcp.ranges[0].lease_unit": "hours",
        "ips[1].dhcp.hosts[0].id": "0:4:7e:7d:f0:7d:a8:bc:c5:d2:13:32:11:ed:16:ea:84:63",
        "ips[1].dhcp.hosts[0].mac": None, "ips[1].dhcp.hosts[0].name": "paul",
        "ips[1].dhcp.hosts[1].lease_expiry": 30, "ips[1].dhcp.hosts[1].lease_unit": "minutes",
        "ips[1].dhcp.hosts[2].ip": IP("2001:db8:ca2:2:3::3"),
        "routes[0].family": "ipv6", "routes[0].gateway": IP("2001:db8:ca2:2::2"),
    },
    "network-static-hosts.xml": {
        "domain_name": "lab.example.com", "domain_local_only": None,
        "ips[0].dhcp.hosts[0].mac": "00:16:3e:77:e2:ed",
        "ips[0].dhcp.hosts[0].ip": IP("192.168.77.10"),
        "ips[0].dhcp.hosts[0].lease_unit": "minutes",
        "ips[0].dhcp.hosts[2].name": None, "ips[0].dhcp.hosts[2].id": None,
        "ips[0].dhcp.ranges[0].lease_expiry": 1,
    },
    "network-dns.xml": {
        "dns.enable": True, "dns.forward_plain_names": False,
        "dns.forwarders[0].addr": IP("8.8.4.4"), "dns.forwarders[0].domain": "example.com",
        "dns.forwarders[2].addr": None, "dns.txts[0].name": "example",
        "dns.txts[0].value": "example value", "dns.hosts[0].ip": IP("192.168.88.2"),
        "dns.hosts[0].hostnames": ["myhost", "myhostalias"],
        "dns.hosts[1].ip": IP("2001:db8:88::2"), "dns.srvs[0].service": "name",
        "dns.srvs[0].protocol": "tcp", "dns.srvs[0].domain": "test-domain-name",
        "dns.srvs[0].target": ".", "dns.srvs[0].port": 1024, "dns.srvs[0].priority": 10,
        "dns.srvs[0].weight": 10, "dns.srvs[1].port": None,
    },
    "network-portgroups.xml": {
        "kind": "macvtap-private", "virtualport.type": "802.1Qbh",
        "virtualport.profile_id": "network-profile", "portgroups[0].default": True,
        "portgroups[0].virtualport.profile_id": "test",
        "portgroups[0].bandwidth.inbound.average": 1000,
        "portgroups[0].bandwidth.inbound.peak": 5000,
        "portgroups[0].bandwidth.inbound.burst": 5120,
        "portgroups[0].bandwidth.outbound.average": 1000,
        "portgroups[0].bandwidth.inbound.floor": None,
        "portgroups[1].default": None, "portgroups[1].bandwidth.outbound.peak": 256,
        "portgroups[1].vlan.exists": False,
    },
    "network-portgroup-vlans.xml": {
        "portgroups[0].vlan.ids": [42, 47, 100], "portgroups[0].vlan.tags[2].native_mode": "tagged",
        "portgroups[2].trust_guest_rx_filters": True,
        "portgroups[2].virtualport.profile_id": "native", "virtualport.profile_id": None,
    },
    "network-bandwidth.xml": {
        "trust_guest_rx_filters": False, "bandwidth.inbound.average": 1000,
        "bandwidth.inbound.burst": 1024, "bandwidth.outbound.average": 2000,
        "bandwidth.outbound.peak": 6000, "ips[0].network": ip_network("192.168.99.0/24"),
    },
    "network-nat-ports.xml": {
        "forward.dev": "eth0", "forward.nat.address_start": IP("203.0.113.10"),
        "forward.nat.address_end": IP("203.0.113.20"), "forward.nat.port_start": 500,
        "forward.nat.port_end": 1000,
    },
    "network-mtu.xml": {"mtu": 9000, "kind": "route"},
    "network-tftp-bootp.xml": {
        "ips[0].tftp_root": "/var/lib/tftpboot", "ips[0].dhcp.bootp_file": "pxelinux.0",
        "ips[0].dhcp.bootp_server": IP("192.168.113.1"),
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_read_values(name):
    net = Network.from_xml(read(name))
    for dotted, expected in EXPECTED[name].items():
        assert resolve(net, dotted) == expected, dotted


def test_read_virtualport_8021qbg_parameters():
    net = Network.from_xml(
        "<network><name>qbg</name><forward mode='vepa'><interface dev='eth1'/></forward>"
        "<virtualport type='802.1Qbg'><parameters managerid='11' typeid='1193047'"
        " typeidversion='2' instanceid='09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f'/></virtualport>"
        "</network>")
    vp = net.virtualport
    assert (vp.type, vp.manager_id, vp.type_id, vp.type_id_version) == ("802.1Qbg", 11, 1193047, 2)
    assert vp.instance_id == "09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f"


def test_metadata_is_a_raw_element_with_foreign_namespace():
    net = Network.from_xml(read("network-metadata.xml"))
    md = net.metadata
    ns = "https://kvmweb.example/xmlns/network/1.0"
    assert md.tag == "metadata"
    assert md.find(f"{{{ns}}}net/{{{ns}}}owner").text == "team-a"
    assert md.find(f"{{{ns}}}net/{{{ns}}}site").get("rack") == "r12"


def test_ip_interface_defaults():
    net = Network.from_xml(
        "<network><name>x</name><ip address='10.1.2.1'/><ip address='192.168.5.1'/>"
        "<ip family='ipv6' address='fd00::1'/><ip address='172.16.0.1' netmask='255.255.0.0'/>"
        "<ip/></network>")
    assert [str(ip.network) if ip.network else None for ip in net.ips] == [
        "10.0.0.0/8", "192.168.5.0/24", "fd00::/64", "172.16.0.0/16", None]
    assert net.ip_for(6).address == IP("fd00::1")
    assert net.ip_for(4).address == IP("10.1.2.1")
    assert Network.new(name="empty").ip_for(4) is None
