"""What a VM's addresses are, now: leases only while the NIC is on that network and the lease
has not ended; agent and neighbour-table addresses while fresh and inside the NIC's network;
each with its source and age. Neighbour-table rows from the watcher become addresses of
bridged and macvtap NICs only."""

from datetime import timedelta

import libvirt
import pytest
from django.utils import timezone

from hosts import services as host_services
from hosts.models import Host, HostInterface
from kvmweb.virt import inventory
from networks.models import Lease, Network
from vms import addresses
from vms.models import Domain, DomainInterface, GuestAddress

pytestmark = pytest.mark.django_db

MAC = "52:54:00:aa:00:01"


@pytest.fixture
def world(db):
    host = Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.0.0.1/system")
    default = Network.objects.create(host=host, name="default", uuid="u1", xml="<network/>",
                                     active=True, kind="nat", bridge="virbr0",
                                     subnets=["192.168.122.0/24"])
    vm = Domain.objects.create(host=host, name="web1", uuid="d1", xml="<domain/>", state="running")
    nic = DomainInterface.objects.create(domain=vm, mac=MAC, type="network", source="default",
                                         target="vnet0")
    Lease.objects.create(network=default, mac=MAC, ip="192.168.122.50", prefix=24,
                         expiry=timezone.now() + timedelta(hours=1))
    return host, vm, nic


def ips(vm):
    return {a["ip"]: a for a in addresses.for_vm(vm).get((vm.host_id, MAC), [])}


def test_a_lease_counts_only_while_the_nic_is_on_its_network(world):
    host, vm, nic = world
    assert ips(vm)["192.168.122.50"]["source"] == "lease"
    # The NIC moved to a LAN bridge: the old NAT lease is not its address any more.
    DomainInterface.objects.filter(pk=nic.pk).update(type="bridge", source="br0")
    GuestAddress.objects.create(host=host, mac=MAC, ip="10.77.0.120", source="arp")
    found = ips(vm)
    assert set(found) == {"10.77.0.120"}
    assert found["10.77.0.120"]["via"] == "host neighbour table (ARP)" and found["10.77.0.120"]["age"] < 5


def test_ended_leases_and_old_or_foreign_addresses_are_dropped(world):
    host, vm, nic = world
    Lease.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    GuestAddress.objects.create(host=host, mac=MAC, ip="192.168.122.60", source="agent")
    old = GuestAddress.objects.create(host=host, mac=MAC, ip="192.168.122.61", source="arp")
    GuestAddress.objects.filter(pk=old.pk).update(seen=timezone.now() - timedelta(hours=1))
    GuestAddress.objects.create(host=host, mac=MAC, ip="10.77.0.9", source="agent")  # not in default's subnet
    assert set(ips(vm)) == {"192.168.122.60"}
    assert ips(vm)["192.168.122.60"]["via"] == "guest agent"


def test_neighbours_become_addresses_of_bridged_nics_only(world):
    host, vm, nic = world
    bridged = DomainInterface.objects.create(domain=vm, mac="52:54:00:aa:00:02", type="bridge",
                                             source="br0", target="vnet1")
    rows = [{"mac": MAC, "ip": "192.168.122.50", "dev": "virbr0", "family": "ipv4"},
            {"mac": bridged.mac, "ip": "10.77.0.130", "dev": "br0", "family": "ipv4"}]
    assert addresses.store_neighbours(host, rows) is True
    assert list(GuestAddress.objects.values_list("mac", "ip", "source")) == [
        (bridged.mac, "10.77.0.130", "arp")]
    assert addresses.store_neighbours(host, rows) is False  # seen again: only its age resets


def test_a_new_domain_is_stored_from_one_read():
    """What the create handler stores at once (test:/// driver: pure logic of the record)."""
    conn = libvirt.open("test:///default")
    try:
        rec = inventory.domain_record(conn, conn.lookupByName("test"))
    finally:
        conn.close()
    host = Host.objects.create(name="kvm9", uri="qemu+ssh://root@10.0.0.9/system")
    dom = host_services.store_domain(host, rec)
    assert dom.name == "test" and dom.state == "running" and dom.uuid == rec["uuid"]


# ---------------------------------------------------------------------------- after a move

LAN = "10.78.2.0/24"


def record(nic_type, source):
    return {"name": "web1", "uuid": "d1", "state": "running", "vcpus": 1, "memory_kib": 65536,
            "persistent": True, "autostart": False, "xml": "<domain/>",
            "nics": [{"mac": MAC, "type": nic_type, "source": source, "mode": "", "model": "virtio",
                      "target": "vnet0", "link_state": "up", "portgroup": "", "stats": {}}]}


def neighbour(ip, dev, state="stale", ago=1.0):
    return {"mac": MAC, "ip": ip, "dev": dev, "family": "ipv4", "state": state, "confirmed_ago": ago}


@pytest.fixture
def moved(world):
    """The issue's move: web1's NIC from the NAT network to kbr0, a bridge over the LAN that
    holds the host's LAN address; the tap is on kbr0 now."""
    host, vm, nic = world
    HostInterface.objects.create(host=host, name="kbr0", kind="bridge",
                                 addresses=[{"family": "inet", "address": "10.78.2.11", "prefixlen": 24}])
    HostInterface.objects.create(host=host, name="virbr0", kind="bridge",
                                 addresses=[{"family": "inet", "address": "192.168.122.1", "prefixlen": 24}])
    tap = HostInterface.objects.create(host=host, name="vnet0", kind="tun/tap", master="virbr0")
    host_services.store_domain(host, record("network", "default"))
    assert DomainInterface.objects.get(mac=MAC).moved_at is None  # read again, not moved
    # Before the move the NAT guest was also in the neighbour table of virbr0.
    GuestAddress.objects.create(host=host, mac=MAC, ip="192.168.122.56", source="arp", dev="virbr0",
                                state="reachable", confirmed=timezone.now())
    HostInterface.objects.filter(pk=tap.pk).update(master="kbr0")
    host_services.store_domain(host, record("bridge", "kbr0"))
    return host, vm


def test_a_nic_whose_source_changed_between_reads_moved_then_and_keeps_that_time(moved):
    host, vm = moved
    first = DomainInterface.objects.get(mac=MAC).moved_at
    assert first is not None and timezone.now() - first < timedelta(seconds=5)
    host_services.store_domain(host, record("bridge", "kbr0"))  # the same again: no new move
    assert DomainInterface.objects.get(mac=MAC).moved_at == first


def test_after_a_move_old_addresses_go_at_once(moved):
    host, vm = moved
    # The stale ARP entry of the NAT address stays in the host's table for minutes: not shown,
    # nor the NAT lease, nor what the agent said before the guest asked DHCP again.
    GuestAddress.objects.create(host=host, mac=MAC, ip="192.168.122.56", source="agent",
                                confirmed=timezone.now())
    addresses.store_neighbours(host, [neighbour("192.168.122.56", "virbr0", "stale", 240)])
    assert ips(vm) == {}
    # Even an entry the kernel marks REACHABLE does not count on the bridge the NIC left.
    addresses.store_neighbours(host, [neighbour("192.168.122.56", "virbr0", "reachable", 0)])
    assert ips(vm) == {}


def test_a_neighbour_on_the_new_segment_counts_when_reachable_or_confirmed_after_the_move(moved):
    host, vm = moved
    moved_at = DomainInterface.objects.get(mac=MAC).moved_at
    ago = (timezone.now() - moved_at).total_seconds() + 30  # confirmed 30 s before the move
    assert addresses.store_neighbours(host, [neighbour("10.78.2.150", "kbr0", "stale", ago)]) is False
    assert ips(vm) == {}
    assert addresses.store_neighbours(host, [neighbour("10.78.2.150", "kbr0", "reachable", ago)]) is True
    assert set(ips(vm)) == {"10.78.2.150"}
    # Confirmed after the move (a search's answer): it stays shown when the kernel's entry
    # turns STALE with an older confirmation, and goes when the entry leaves the table.
    assert addresses.store_neighbours(host, [neighbour("10.78.2.150", "kbr0", "reachable", 0)]) is False
    assert addresses.store_neighbours(host, [neighbour("10.78.2.150", "kbr0", "stale", ago)]) is False
    assert set(ips(vm)) == {"10.78.2.150"}
    assert addresses.store_neighbours(host, []) is True
    assert ips(vm) == {}
    # Outside the LAN's subnets (the host's addresses on kbr0): never the NIC's address.
    addresses.store_neighbours(host, [neighbour("10.99.0.5", "kbr0", "reachable", 0)])
    assert ips(vm) == {}


def test_a_moved_nic_is_searched_for_until_its_new_address_is_known(moved):
    host, vm = moved
    (pending,) = addresses.moved_without_address(host)
    assert pending[0] == MAC and pending[1].dev == "kbr0" and pending[1].subnets == [LAN]
    addresses.store_neighbours(host, [neighbour("10.78.2.150", "kbr0", "reachable", 0)],
                               complete=False)
    assert addresses.moved_without_address(host) == []
    Domain.objects.filter(pk=vm.pk).update(state="shut off")
    GuestAddress.objects.all().delete()
    assert addresses.moved_without_address(host) == []  # only running guests answer


@pytest.mark.parametrize("source,ip,dev,state,confirmed,shown", [
    ("arp", "10.78.2.150", "kbr0", "reachable", -60, True),   # REACHABLE now
    ("arp", "10.78.2.150", "kbr0", "stale", 5, True),         # confirmed after the move
    ("arp", "10.78.2.150", "kbr0", "stale", -5, False),       # only before it
    ("arp", "10.78.2.150", "virbr0", "reachable", 5, False),  # on another bridge
    ("arp", "192.168.122.56", "kbr0", "reachable", 5, False),  # not in the segment's subnets
    ("agent", "10.78.2.150", "", "", 5, True),
    ("agent", "10.78.2.150", "", "", -5, False),              # said before the move
    ("agent", "192.168.122.56", "", "", 5, False),
])
def test_the_rule_for_agent_and_neighbour_addresses(source, ip, dev, state, confirmed, shown):
    now = timezone.now()
    moved_at = now - timedelta(seconds=60)
    place = addresses.Place(network=None, dev="kbr0", subnets=[LAN], moved_at=moved_at)
    addr = GuestAddress(mac=MAC, ip=ip, source=source, dev=dev, state=state, seen=now,
                        confirmed=moved_at + timedelta(seconds=confirmed))
    assert addresses.address_counts(addr, place, now) is shown
    assert addresses.lease_counts("default", None, place, now) is False  # left the network


def test_a_nic_on_a_bridge_mode_network_gets_neighbour_addresses_a_nat_nic_its_lease(world):
    host, vm, nic = world
    Network.objects.create(host=host, name="lan", uuid="u2", xml="<network/>", active=True,
                           kind="bridge", bridge="br0")
    on_lan = DomainInterface.objects.create(domain=vm, mac="52:54:00:aa:00:03", type="network",
                                            source="lan", target="vnet2")
    rows = [{"mac": MAC, "ip": "192.168.122.50", "dev": "virbr0", "family": "ipv4",
             "state": "reachable", "confirmed_ago": 0},
            {"mac": on_lan.mac, "ip": "10.77.0.131", "dev": "br0", "family": "ipv4",
             "state": "reachable", "confirmed_ago": 0}]
    assert addresses.store_neighbours(host, rows) is True
    assert list(GuestAddress.objects.values_list("mac", "ip")) == [(on_lan.mac, "10.77.0.131")]
    assert addresses.for_vm(vm)[(host.pk, on_lan.mac)][0]["ip"] == "10.77.0.131"


def test_a_tap_moved_live_to_another_bridge_has_left_its_network_before_the_xml_says_so(world):
    host, vm, nic = world
    HostInterface.objects.create(host=host, name="vnet0", kind="tun/tap", master="virbr0")
    assert set(ips(vm)) == {"192.168.122.50"}
    HostInterface.objects.filter(name="vnet0").update(master="kbr0")  # netlink saw the move
    assert ips(vm) == {}
