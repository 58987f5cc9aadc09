"""What a VM's addresses are, now: leases only while the NIC is on that network and the lease
has not ended; agent and neighbour-table addresses while fresh and inside the NIC's network;
each with its source and age. Neighbour-table rows from the watcher become addresses of
bridged and macvtap NICs only."""

from datetime import timedelta

import libvirt
import pytest
from django.utils import timezone

from hosts import services as host_services
from hosts.models import Host
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
