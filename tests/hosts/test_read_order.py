"""A full sync reads the whole host and stores it seconds later; the watcher's quick re-read of
one object may land in between (a NIC attached with virsh). The sync must not put back the
older definition it read before, nor delete an object defined after its read."""

from datetime import timedelta

import libvirt
import pytest
from django.utils import timezone

from hosts import services
from hosts.models import Host
from kvmweb.virt import inventory
from vms.models import Domain

pytestmark = pytest.mark.django_db


@pytest.fixture
def host_and_record():
    conn = libvirt.open("test:///default")
    try:
        rec = inventory.domain_record(conn, conn.lookupByName("test"))
    finally:
        conn.close()
    network = {"name": "lab", "uuid": "1a1a1a1a-0000-4000-8000-000000000001",
               "xml": "<network><name>lab</name></network>", "active": True, "autostart": False,
               "persistent": True, "bridge": "virbr1", "kind": "isolated",
               "subnets": ["192.168.150.0/24"], "dhcp": False, "leases": []}
    host = Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.0.0.1/system")
    return host, rec, network


def with_nic(rec, mac):
    nic = {**rec["nics"][0], "mac": mac, "target": "vnet9"} if rec["nics"] else None
    assert nic is not None, "the test driver's domain has a NIC to copy"
    return {**rec, "nics": [*rec["nics"], nic]}


def test_a_sync_read_before_a_re_read_keeps_the_newer_read(host_and_record):
    host, rec, network = host_and_record
    sync_read = timezone.now()
    # The watcher re-reads the VM after a NIC was attached, while the sync is still running.
    services.store_domain(host, with_nic(rec, "52:54:00:00:00:99"), sync_read + timedelta(seconds=2))
    services.store_inventory(host, {"networks": [network], "domains": [rec]}, None, sync_read)
    dom = Domain.objects.get(host=host, uuid=rec["uuid"])
    assert "52:54:00:00:00:99" in set(dom.nics.values_list("mac", flat=True))


def test_a_sync_read_after_the_re_read_wins(host_and_record):
    host, rec, network = host_and_record
    earlier = timezone.now()
    services.store_domain(host, with_nic(rec, "52:54:00:00:00:99"), earlier)
    services.store_inventory(host, {"networks": [network], "domains": [rec]}, None,
                             earlier + timedelta(seconds=1))  # the NIC was detached since
    dom = Domain.objects.get(host=host, uuid=rec["uuid"])
    assert "52:54:00:00:00:99" not in set(dom.nics.values_list("mac", flat=True))


def test_a_sync_does_not_delete_what_was_defined_after_its_read(host_and_record):
    host, rec, network = host_and_record
    sync_read = timezone.now()
    services.store_domain(host, rec, sync_read + timedelta(seconds=1))  # defined meanwhile
    services.store_network(host, network, sync_read + timedelta(seconds=1))
    services.store_inventory(host, {"networks": [], "domains": []}, None, sync_read)
    assert Domain.objects.filter(host=host, uuid=rec["uuid"]).exists()
    assert host.networks.filter(name=network["name"]).exists()
    services.store_inventory(host, {"networks": [], "domains": []}, None,
                             sync_read + timedelta(seconds=3))  # gone by the next sync
    assert not Domain.objects.filter(host=host).exists() and not host.networks.exists()
