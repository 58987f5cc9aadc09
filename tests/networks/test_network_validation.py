"""Every validation rule of issue #3: a clear field error, and no Operation created."""

import pytest

from operations.models import Operation

pytestmark = pytest.mark.django_db

BASE = {"name": "lab1", "kind": "nat", "subnet": "192.168.100.0/24"}

# (extra fields, field with the error, words in the message)
CASES = [
    ("bad_cidr", {"subnet": "192.168.100.0/33"}, "subnet", "not a subnet"),
    ("garbage_cidr", {"subnet": "banana"}, "subnet", "not a subnet"),
    ("bad_netmask", {"subnet": "192.168.100.0/255.0.255.0"}, "subnet", "not a subnet"),
    ("host_bits", {"subnet": "192.168.100.7/24"}, "subnet", "did you mean 192.168.100.0/24"),
    ("too_small", {"subnet": "192.168.100.0/31"}, "subnet", "no room"),
    ("gateway_outside", {"gateway": "192.168.1.1"}, "gateway", "not inside 192.168.100.0/24"),
    ("gateway_network", {"gateway": "192.168.100.0"}, "gateway", "network address"),
    ("gateway_broadcast", {"gateway": "192.168.100.255"}, "gateway", "broadcast address"),
    ("range_outside", {"dhcp": True, "dhcp_start": "192.168.100.10", "dhcp_end": "192.168.101.20"},
     "dhcp_start", "inside the subnet"),
    ("range_reversed", {"dhcp": True, "dhcp_start": "192.168.100.200", "dhcp_end": "192.168.100.100"},
     "dhcp_start", "reversed"),
    ("range_gateway", {"dhcp": True, "dhcp_start": "192.168.100.1", "dhcp_end": "192.168.100.100"},
     "dhcp_start", "contains the gateway"),
    ("static_ip_outside", {"static_hosts": [{"mac": "52:54:00:00:00:01", "ip": "10.1.1.1"}]},
     "static_hosts", "inside the subnet"),
    ("static_ip_twice", {"static_hosts": [{"mac": "52:54:00:00:00:01", "ip": "192.168.100.10"},
                                          {"mac": "52:54:00:00:00:02", "ip": "192.168.100.10"}]},
     "static_hosts", "given to two hosts"),
    ("static_mac_invalid", {"static_hosts": [{"mac": "52:54:00:00:01", "ip": "192.168.100.10"}]},
     "static_hosts", "not a MAC address"),
    ("static_mac_multicast", {"static_hosts": [{"mac": "01:00:5e:00:00:01", "ip": "192.168.100.10"}]},
     "static_hosts", "multicast"),
    ("static_mac_twice", {"static_hosts": [{"mac": "52:54:00:00:00:01", "ip": "192.168.100.10"},
                                           {"mac": "52:54:00:00:00:01", "ip": "192.168.100.11"}]},
     "static_hosts", "listed twice"),
    ("overlaps_network", {"subnet": "192.168.122.128/25"}, "subnet", "overlaps network 'default'"),
    ("overlaps_host_address", {"subnet": "10.74.0.0/16"}, "subnet", "host's own address 10.74.0.11/24 on eth0"),
    ("overlaps_host_route", {"subnet": "172.20.5.0/24"}, "subnet",
     "host's route to 172.20.0.0/16 via 10.74.0.1 on eth0"),
    ("bridge_too_long", {"bridge": "virbr-much-too-long"}, "bridge", "at most 15"),
    ("bridge_bad_chars", {"bridge": "vir/br1"}, "bridge", "refuses"),
    ("bridge_in_use", {"bridge": "virbr0"}, "bridge", "already exists"),
    ("bridge_mode_missing", {"kind": "bridge", "bridge": "br9", "subnet": ""}, "bridge", "no interface 'br9'"),
    ("bridge_mode_not_bridge", {"kind": "bridge", "bridge": "eth0", "subnet": ""}, "bridge", "not a bridge"),
    ("forward_dev_missing", {"forward_dev": "eth7"}, "forward_dev", "no device 'eth7'"),
    ("macvtap_dev_missing", {"kind": "macvtap-bridge", "devices": ["eth9"], "subnet": ""}, "devices", "no device 'eth9'"),
    ("pf_missing", {"kind": "hostdev", "pf": "enp3s0f0", "subnet": ""}, "pf", "no PF 'enp3s0f0'"),
    ("name_refused", {"name": "a/b"}, "name", "refuses '/'"),
    ("name_exists", {"name": "default"}, "name", "already exists on kvm1"),
    ("ipv6_dhcp_needs_64", {"ipv6_subnet": "fd00:1::/56", "dhcpv6": True}, "ipv6_subnet", "/64"),
    ("nat_ports", {"nat_port_start": 2000, "nat_port_end": 1000}, "nat_port_start", "start ≤ end"),
    ("vlan_on_nat", {"portgroups": [{"name": "pg", "vlan": 42}]}, "portgroups", "Open vSwitch"),
]


@pytest.mark.parametrize("extra,field,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_it_rejects(admin_api, synced_host, extra, field, words):
    response = admin_api.post("/api/networks/", {**BASE, "host": synced_host.pk, **extra},
                              format="json")
    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()[field]), response.json()
    assert not Operation.objects.exists()


XML_CASES = [
    ("not_well_formed", "<network><name>x</name>", "not well-formed"),
    ("dtd", '<!DOCTYPE network [<!ENTITY e "x">]><network><name>&e;</name></network>', "not allowed"),
    ("no_name", "<network><forward mode='nat'/></network>", "no <name>"),
    ("libvirt_rejects", "<network><name>x1</name><forward mode='warp'/></network>",
     "libvirt rejects this definition"),
    ("name_exists", "<network><name>default</name></network>", "already exists"),
    ("overlap", "<network><name>x2</name><ip address='192.168.122.7' prefix='24'/></network>",
     "overlaps network 'default'"),
]


@pytest.mark.parametrize("xml,words", [c[1:] for c in XML_CASES], ids=[c[0] for c in XML_CASES])
def test_it_rejects_xml(admin_api, synced_host, xml, words):
    response = admin_api.post("/api/networks/", {"host": synced_host.pk, "xml": xml}, format="json")
    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()["xml"]), response.json()
    assert not Operation.objects.exists()


def test_overlap_with_another_host_only_warns(admin_api, synced_host, other_host):
    response = admin_api.post("/api/networks/", {**BASE, "host": synced_host.pk,
                                                 "subnet": "192.168.150.0/24"}, format="json")
    assert response.status_code == 202, response.content
    assert "overlaps network 'lab' (192.168.150.0/24) on host kvm2" in response.json()["warnings"][0]
    assert Operation.objects.get().action == "network.create"


def test_defaults_are_virt_manager_like(admin_api, synced_host):
    from kvmweb.virt.xml import Network

    # 192.168.100.0/24 is taken: the next free /24 is chosen.
    from networks.models import Network as Row
    Row.objects.create(host=synced_host, name="taken", uuid="x", xml="<network/>",
                       subnets=["192.168.100.0/24"])
    response = admin_api.post("/api/networks/", {"host": synced_host.pk, "name": "lab9"},
                              format="json")
    assert response.status_code == 202, response.content
    doc = Network.from_xml(Operation.objects.get().params["xml"])
    assert doc.forward_mode == "nat" and doc.domain_name == "lab9"
    ip = doc.ip_for(4)
    assert str(ip.interface) == "192.168.101.1/24"
    assert (str(ip.dhcp.ranges[0].start), str(ip.dhcp.ranges[0].end)) == ("192.168.101.128",
                                                                          "192.168.101.254")


def test_a_plain_user_cannot_see_or_use_hosts_it_cannot_see(user_api, plain_user, synced_host):
    from operations.models import Operation
    from tests.conftest import grant

    response = user_api.post("/api/networks/", {**BASE, "host": synced_host.pk}, format="json")
    assert response.status_code == 400 and "host" in response.json()
    assert not Operation.objects.exists()
    team = grant(plain_user, synced_host, "operator")
    response = user_api.post("/api/networks/", {**BASE, "host": synced_host.pk}, format="json")
    assert response.status_code == 202, response.content
    assert Operation.objects.get().team == team
