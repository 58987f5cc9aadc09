"""Bad VM and NIC requests are refused before anything is sent: a field error, no Operation.
One test per rule, against a read model filled by hand (no host needed)."""

import pytest

from hosts.models import Host, HostInterface
from networks.models import Network
from operations.models import Operation
from vms.models import Domain, DomainInterface, StoragePool, Volume

pytestmark = pytest.mark.django_db

NET_XML = ("<network><name>{}</name><portgroup name='web'/><bridge name='virbr0'/>"
           "<forward mode='nat'/></network>")


@pytest.fixture
def host():
    host = Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.0.0.1/system",
                               status=Host.Status.ONLINE,
                               capabilities={"cpus": 4, "memory_mib": 8192,
                                             "domain_types": ["qemu", "kvm"]})
    Network.objects.create(host=host, name="default", uuid="u1", active=True,
                           xml=NET_XML.format("default"), bridge="virbr0")
    Network.objects.create(host=host, name="lab", uuid="u2", active=False,
                           xml=NET_XML.format("lab"), bridge="virbr1")
    HostInterface.objects.create(host=host, name="br0", kind="bridge")
    HostInterface.objects.create(host=host, name="eth0", kind="physical")
    HostInterface.objects.create(host=host, name="lo", kind="loopback")
    pool = StoragePool.objects.create(host=host, name="default", uuid="p1", active=True,
                                      available=10 * 2 ** 30, path="/var/lib/libvirt/images")
    Volume.objects.create(pool=pool, name="base.qcow2", path="/var/lib/libvirt/images/base.qcow2",
                          format="qcow2")
    return host


@pytest.fixture
def vm(host):
    other = Host.objects.create(name="kvm2", uri="qemu+ssh://root@10.0.0.2/system")
    far = Domain.objects.create(host=other, name="far", uuid="d2", xml="<domain/>")
    DomainInterface.objects.create(domain=far, mac="52:54:00:aa:bb:cc", type="network", source="default")
    vm = Domain.objects.create(host=host, name="web1", uuid="d1", state="running", xml="<domain/>")
    DomainInterface.objects.create(domain=vm, mac="52:54:00:00:00:01", type="network",
                                   source="default", model="virtio")
    return vm


def create(api, host, **overrides):
    body = {"host": host.pk, "name": "new1", "memory_mib": 128, "vcpus": 1, "boot": "network",
            "nics": [{"type": "network", "source": "default"}], **overrides}
    return api.post("/api/vms/", body, format="json")


def refused(response, field, words, nic=None):
    assert response.status_code == 400, response.content
    errors = response.json()
    if nic is not None:
        errors = errors["nics"][nic]
    assert words in " ".join(errors[field]), errors
    assert not Operation.objects.exists()


def test_a_valid_request_creates_one_operation(admin_api, host):
    response = create(admin_api, host, disk="new", pool="default", disk_gib=2)
    assert response.status_code == 202, response.content
    op = Operation.objects.get()
    assert op.action == "vm.create"
    assert op.params["spec"]["nics"][0]["mac"].startswith("52:54:00:")


def test_it_rejects_an_unknown_network(admin_api, host):
    refused(create(admin_api, host, nics=[{"type": "network", "source": "nope"}]),
            "source", "no network 'nope'", nic=0)


def test_it_rejects_an_inactive_network_saying_start_it(admin_api, host):
    refused(create(admin_api, host, nics=[{"type": "network", "source": "lab"}]),
            "source", "network 'lab' is not active — start it first", nic=0)


def test_it_rejects_an_unknown_bridge(admin_api, host):
    refused(create(admin_api, host, nics=[{"type": "bridge", "source": "eth0"}]),
            "source", "no bridge 'eth0'", nic=0)


def test_it_rejects_macvtap_on_a_missing_device(admin_api, host):
    refused(create(admin_api, host, nics=[{"type": "direct", "source": "eth9"}]),
            "source", "no device 'eth9'", nic=0)


def test_it_rejects_an_unknown_portgroup(admin_api, host):
    refused(create(admin_api, host, nics=[{"type": "network", "source": "default", "portgroup": "db"}]),
            "portgroup", "no portgroup 'db'", nic=0)


def test_it_rejects_a_mac_used_on_another_host(admin_api, host, vm):
    refused(create(admin_api, host, nics=[{"source": "default", "mac": "52:54:00:AA:BB:CC"}]),
            "mac", "used by VM 'far' on host kvm2", nic=0)


def test_it_rejects_a_multicast_mac(admin_api, host):
    refused(create(admin_api, host, nics=[{"source": "default", "mac": "01:00:5e:00:00:01"}]),
            "mac", "multicast", nic=0)


def test_it_rejects_a_malformed_mac(admin_api, host):
    refused(create(admin_api, host, nics=[{"source": "default", "mac": "52:54:00:zz:00:01"}]),
            "mac", "not a MAC address", nic=0)


def test_it_rejects_a_model_the_host_does_not_offer(admin_api, host):
    refused(create(admin_api, host, nics=[{"source": "default", "model": "ne2k_isa"}]),
            "model", "does not offer NIC model 'ne2k_isa'", nic=0)


def test_it_rejects_more_memory_than_the_host_has(admin_api, host):
    refused(create(admin_api, host, memory_mib=9000), "memory_mib", "8192 MiB")


def test_it_rejects_more_vcpus_than_the_host_has(admin_api, host):
    refused(create(admin_api, host, vcpus=5), "vcpus", "4 CPUs")


def test_it_rejects_a_disk_larger_than_the_pool_has_free(admin_api, host):
    refused(create(admin_api, host, disk="new", pool="default", disk_gib=11),
            "disk_gib", "10.0 GiB free")


def test_it_rejects_an_unknown_pool(admin_api, host):
    refused(create(admin_api, host, disk="new", pool="fast", disk_gib=1), "pool", "no storage pool 'fast'")


def test_it_rejects_an_unknown_existing_volume(admin_api, host):
    refused(create(admin_api, host, disk="existing", volume="/nope.qcow2"), "volume", "no volume")


def test_it_rejects_a_name_in_use_on_that_host(admin_api, host, vm):
    refused(create(admin_api, host, name="web1"), "name", "already exists on host kvm1")


def test_it_rejects_kernel_boot_without_paths(admin_api, host):
    refused(create(admin_api, host, boot="kernel", kernel="vmlinuz"), "kernel", "absolute path")


def test_nic_add_rejects_an_inactive_network(admin_api, vm):
    response = admin_api.post(f"/api/vms/{vm.pk}/nics/", {"type": "network", "source": "lab"},
                             format="json")
    refused(response, "source", "is not active — start it first")


def test_nic_update_rejects_a_duplicate_mac(admin_api, vm):
    response = admin_api.patch(f"/api/vms/{vm.pk}/nics/52:54:00:00:00:01/",
                              {"mac": "52:54:00:aa:bb:cc"}, format="json")
    refused(response, "mac", "already used by VM 'far'")


def test_nic_update_to_an_unknown_bridge_is_refused(admin_api, vm):
    response = admin_api.patch(f"/api/vms/{vm.pk}/nics/52:54:00:00:00:01/",
                              {"type": "bridge", "source": "br9"}, format="json")
    refused(response, "source", "no bridge 'br9'")


def test_an_action_the_state_does_not_allow_is_refused(admin_api, vm):
    response = admin_api.post(f"/api/vms/{vm.pk}/start/")
    refused(response, "action", "web1 is running")
