"""The foundation on real hosts: two lab hypervisors added through the API, keys pinned,
synced; what kvmweb stores equals what virsh says on each host."""

import json

import pytest
from django.test import Client

from hosts.models import Host
from kvmweb.lab import pxe_mac
from kvmweb.virt.ssh import fingerprint
from networks.models import Lease
from tests.conftest import add_lab_host, lab_run, wait_for, wait_operation
from vms.models import DomainInterface

pytestmark = [pytest.mark.lab, pytest.mark.django_db(transaction=True)]


def domiflist(lab_host, domain):
    """Rows of `virsh domiflist`: (target, type, source, model, mac)."""
    rows = []
    for line in lab_run(lab_host, "virsh", "-q", "domiflist", domain).splitlines():
        if line.strip():
            rows.append(tuple(line.split()))
    return rows


def dhcp_leases(lab_host, network="default"):
    """MAC -> IP of `virsh net-dhcp-leases`."""
    leases = {}
    for line in lab_run(lab_host, "virsh", "-q", "net-dhcp-leases", network).splitlines():
        parts = line.split()
        if len(parts) >= 5:
            leases[parts[2].lower()] = parts[4].split("/")[0]
    return leases


def test_two_lab_hosts_match_virsh(admin_api, admin_user, celery_worker, lab_hosts):
    # The PXE guests get their leases while we add the hosts; wait until virsh shows them.
    for lab_host in lab_hosts:
        wait_for(lambda: pxe_mac(lab_host.index) in dhcp_leases(lab_host), timeout=120,
                 what=f"a DHCP lease for pxe1 on {lab_host.name}")
    for lab_host in lab_hosts:
        host, sync = add_lab_host(admin_api, lab_host)
        assert sync.status == "succeeded", sync.error + sync.log
        assert host.status == Host.Status.ONLINE
        assert host.host_key_fingerprint == fingerprint(lab_host.host_key_pub)
        assert host.libvirt_version.startswith("9.")
        assert "qemu" in host.capabilities["domain_types"]

        net = host.networks.get(name="default")
        assert net.active and net.kind == "nat" and net.bridge == "virbr0"
        assert net.subnets == ["192.168.122.0/24"]

        virsh_rows = domiflist(lab_host, "pxe1")
        nics = DomainInterface.objects.filter(domain__host=host, domain__name="pxe1")
        ours = [(n.target, n.type, n.source, n.model, n.mac) for n in nics]
        assert ours == virsh_rows
        assert nics[0].mac == pxe_mac(lab_host.index)
        assert host.domains.get(name="pxe1").state == "running"

        virsh_leases = dhcp_leases(lab_host)
        stored = {lease.mac: lease.ip for lease in Lease.objects.filter(network=net)}
        assert stored == virsh_leases
        assert stored[pxe_mac(lab_host.index)].startswith("192.168.122.")

        # The host interfaces came over netlink on the host itself (mitogen + pyroute2).
        ip_links = {link["ifname"]: link for link in json.loads(lab_run(lab_host, "ip", "-j", "link"))}
        stored_ifaces = {i.name: i for i in host.interfaces.all()}
        assert set(stored_ifaces) == set(ip_links)
        assert stored_ifaces["virbr0"].kind == "bridge"
        assert stored_ifaces["eth0"].mac == ip_links["eth0"]["address"]
        vnet = nics[0].target
        assert stored_ifaces[vnet].master == "virbr0" == ip_links[vnet]["master"]

    # And the pages show it, from the database.
    client = Client()
    client.force_login(admin_user)
    page = client.get("/hosts/").content.decode()
    assert "kvm1" in page and "kvm2" in page and "online" in page
    detail = client.get(f"/hosts/{Host.objects.get(name='kvm1').pk}/").content.decode()
    assert pxe_mac(1) in detail and "virbr0" in detail


def test_a_changed_host_key_stops_everything_until_re_pinned(admin_api, celery_worker, lab_hosts):
    lab_host = lab_hosts[0]
    host, sync = add_lab_host(admin_api, lab_host)
    assert sync.status == "succeeded"
    # Pretend the pinned key was another machine's: the host's real key is now "changed".
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE4x0l1lGmxgKcUOw3Xv1hjYI6uYxQx9Y9Rj3m3UHq8o"
    Host.objects.filter(pk=host.pk).update(host_key=other, host_key_fingerprint=fingerprint(other))
    op = admin_api.post(f"/api/hosts/{host.pk}/sync/").json()
    op = wait_operation(op["id"])
    assert op.status == "failed"
    host.refresh_from_db()
    assert host.status == Host.Status.HOST_KEY_CHANGED
    assert "re-pin" in host.status_reason
    assert host.offered_fingerprint == fingerprint(lab_host.host_key_pub)

    # A plain user cannot re-pin; an admin can, and then it connects again.
    pinned = admin_api.post(f"/api/hosts/{host.pk}/pin-key/", {"fingerprint": host.offered_fingerprint},
                            format="json")
    assert pinned.status_code == 202
    assert wait_operation(pinned.json()["id"]).status == "succeeded"
    host.refresh_from_db()
    assert host.status == Host.Status.ONLINE


def test_a_key_the_host_refuses_is_an_auth_error(admin_api, celery_worker, lab_hosts, tmp_path):
    import subprocess

    stranger = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    host, sync = add_lab_host(admin_api, lab_hosts[1], name="wrong-key", key_path=str(stranger))
    assert sync.status == "failed"
    assert "authorized_keys" in sync.error
    assert host.status == Host.Status.ERROR
    assert not host.networks.exists()


@pytest.fixture(scope="module")
def solo_lab():
    """A one-host lab of its own, because this module stops its libvirtd."""
    import os

    from hosts.services import public_key
    from kvmweb.lab import create_lab, teardown_lab

    prefix = os.environ.get("KVMWEB_TEST_LAB_PREFIX", "kvmt") + "s"
    subnet = os.environ.get("KVMWEB_TEST_SOLO_SUBNET", "10.71.0.0/24")
    try:
        yield prefix, create_lab(1, [public_key()], prefix=prefix, subnet=subnet, guests=())[0]
    finally:
        teardown_lab(prefix=prefix)


def test_libvirtd_not_running_is_said_plainly(admin_api, celery_worker, solo_lab):
    import os
    import signal

    prefix, lab_host = solo_lab
    host, sync = add_lab_host(admin_api, lab_host, name="solo")
    assert sync.status == "succeeded"
    os.kill(lab_host.libvirtd_pid, signal.SIGTERM)
    wait_for(lambda: not os.path.exists(f"/proc/{lab_host.libvirtd_pid}/cmdline")
             or open(f"/proc/{lab_host.libvirtd_pid}/stat").read().split()[2] == "Z",
             timeout=20, what="libvirtd to stop")
    op = wait_operation(admin_api.post(f"/api/hosts/{host.pk}/sync/").json()["id"])
    assert op.status == "failed"
    assert "libvirtd is not running" in op.error
    host.refresh_from_db()
    assert host.status == Host.Status.OFFLINE
    assert "libvirtd is not running" in host.status_reason
