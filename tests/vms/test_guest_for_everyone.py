"""The lab's tiny Linux for everyone, against a read model filled by hand (no host needed): the
guest-agent channel new VMs get (and the option to leave it out), what domain type 'auto' means
on a host, the Create VM form on a host with the lab-boot pool, and the lab registration."""

import io
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.test import Client

from hosts.management.commands.lab import Command, register_lab_hosts
from hosts.models import Host
from kvmweb.virt.xml import Domain as DomainXML
from networks.models import Network
from operations.models import Operation
from tests.conftest import grant
from vms import builder, services
from vms.models import StoragePool, Volume

pytestmark = pytest.mark.django_db

BOOT = "/var/lib/libvirt/lab-boot"
NET_XML = "<network><name>default</name><bridge name='virbr0'/><forward mode='nat'/></network>"


@pytest.fixture
def host():
    host = Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.0.0.1/system",
                               status=Host.Status.ONLINE,
                               capabilities={"cpus": 4, "memory_mib": 8192,
                                             "domain_types": ["kvm", "qemu"]})
    Network.objects.create(host=host, name="default", uuid="u1", active=True, xml=NET_XML,
                           bridge="virbr0", kind="nat")
    return host


@pytest.fixture
def lab_pool(host):
    pool = StoragePool.objects.create(host=host, name="lab-boot", uuid="p9", active=True,
                                      type="dir", path=BOOT)
    for name in ("vmlinuz", "initrd.img"):
        Volume.objects.create(pool=pool, name=name, path=f"{BOOT}/{name}", format="raw")
    return pool


SPEC = {"name": "g1", "memory_mib": 128, "vcpus": 1, "boot": "kernel",
        "kernel": f"{BOOT}/vmlinuz", "initrd": f"{BOOT}/initrd.img", "nics": []}


def test_new_vms_get_the_guest_agent_channel_unless_asked_not_to():
    [channel] = DomainXML.from_xml(builder.domain_xml(SPEC, "qemu")).channels
    assert (channel.type, channel.target_type, channel.target_name) == (
        "unix", "virtio", "org.qemu.guest_agent.0")
    assert list(DomainXML.from_xml(builder.domain_xml({**SPEC, "guest_agent": False}, "qemu")).channels) == []


def test_the_api_keeps_the_guest_agent_choice(admin_api, host, lab_pool):
    for body, expected in (({}, True), ({"guest_agent": False}, False)):
        response = admin_api.post("/api/vms/", {"host": host.pk, **SPEC, "name": f"g{expected}",
                                                **body}, format="json")
        assert response.status_code == 202, response.content
        assert Operation.objects.get(pk=response.json()["id"]).params["spec"]["guest_agent"] is expected
    bad = admin_api.post("/api/vms/", {"host": host.pk, **SPEC, "guest_agent": "perhaps"},
                         format="json")
    assert bad.status_code == 400 and "guest_agent" in bad.json()


def test_auto_means_the_hosts_setting_then_kvm_where_offered(host):
    assert services.domain_type(host) == "kvm"              # offered, nobody said otherwise
    assert services.domain_type(host, "qemu") == "qemu"     # asked for: as asked
    host.domain_type = "qemu"                               # the lab's hosts (KVM does not run)
    assert services.domain_type(host) == "qemu" and services.domain_type(host, "auto") == "qemu"
    assert services.domain_type(host, "kvm") == "kvm"
    host.domain_type, host.capabilities = "auto", {"domain_types": ["qemu"]}
    assert services.domain_type(host) == "qemu"


def test_only_an_admin_sets_a_hosts_domain_type(admin_api, user_api, plain_user, host):
    grant(plain_user, host, "admin", "blue")
    assert user_api.patch(f"/api/hosts/{host.pk}/", {"domain_type": "qemu"},
                          format="json").status_code == 403
    response = admin_api.patch(f"/api/hosts/{host.pk}/", {"domain_type": "qemu"}, format="json")
    assert response.status_code == 200 and response.json()["domain_type"] == "qemu"
    host.refresh_from_db()
    assert host.domain_type == "qemu" and host.host_key == ""  # nothing else changed
    page = Client()
    page.force_login(plain_user)
    shown = page.get(f"/hosts/{host.pk}/").content.decode()
    assert '<span id="host-domain-type">qemu</span> (set for this host)' in shown
    bad = admin_api.patch(f"/api/hosts/{host.pk}/", {"domain_type": "xen"}, format="json")
    assert bad.status_code == 400 and "domain_type" in bad.json()


def _page(user, host):
    client = Client()
    client.force_login(user)
    response = client.get(f"/vms/create/?host={host.pk}")
    assert response.status_code == 200
    return response.content.decode()


def test_the_form_says_how_to_boot_the_lab_guest_and_fills_it_in(admin_user, host, lab_pool):
    host.domain_type = "qemu"
    host.save()
    page = _page(admin_user, host)
    assert 'id="lab-boot-hint"' in page
    assert "<code>lab-boot/vmlinuz</code>" in page and "<code>lab-boot/initrd.img</code>" in page
    assert f'value="{BOOT}/vmlinuz"' in page and f'value="{BOOT}/initrd.img"' in page
    assert '<option value="kernel" selected>' in page and '<option value="qemu" selected>' in page
    assert 'name="guest_agent"' in page and 'id="id_guest_agent" checked' in page
    assert 'name="nics-0-source" value="default"' in page  # a name is all it still needs


def test_no_hint_without_the_lab_pool(admin_user, host):
    page = _page(admin_user, host)
    assert 'id="lab-boot-hint"' not in page and "lab-boot/vmlinuz" not in page
    assert '<option value="network" selected>' in page and '<option value="auto" selected>' in page
    assert 'name="nics-0-source" value="default"' not in page


def test_a_team_operator_may_boot_the_lab_pools_volumes(user_api, plain_user, host, lab_pool):
    grant(plain_user, host, "operator", "blue", networks=["default"])
    nic = [{"type": "network", "source": "default"}]
    outside = user_api.post("/api/vms/", {"host": host.pk, **SPEC, "kernel": "/boot/vmlinuz",
                                          "nics": nic}, format="json")
    assert outside.status_code == 403 and "storage pools" in outside.json()["detail"]
    response = user_api.post("/api/vms/", {"host": host.pk, **SPEC, "nics": nic}, format="json")
    assert response.status_code == 202, response.content


def test_lab_hosts_are_registered_with_domain_type_qemu():
    lab_host = SimpleNamespace(index=1, uri="qemu+ssh://root@10.78.9.11/system",
                               host_key_pub="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEr7 kvmlab")
    register_lab_hosts([lab_host])
    assert Host.objects.get(uri=lab_host.uri).domain_type == "qemu"
    Host.objects.filter(uri=lab_host.uri).update(domain_type="auto")  # registered before
    register_lab_hosts([lab_host])
    assert Host.objects.get(uri=lab_host.uri).domain_type == "qemu"


def test_lab_create_says_why_the_tiny_linux_was_not_built(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    out, errors = io.StringIO(), io.StringIO()
    assert Command(stdout=out, stderr=errors).tiny_linux(str(blocker / "cache")) is None
    err = errors.getvalue()
    assert "the tiny Linux guest could not be built" in err and "Not a directory" in err
    assert "without the lab-boot pool" in err and not Path(blocker / "cache").exists()
