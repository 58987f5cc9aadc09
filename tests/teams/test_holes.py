"""Each hole issue 10 listed, closed: the refusal (403 with a message saying why; 404 where the
object is not even visible) and that no Operation was created, so nothing was enqueued."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from kvmweb.consumers import LiveConsumer
from operations.models import Operation

pytestmark = pytest.mark.django_db


def refused(response, *words, status=403):
    assert response.status_code == status, response.content
    text = response.content.decode()
    for word in words:
        assert word in text, text
    assert not Operation.objects.exists()


@pytest.mark.parametrize("action", ["start", "shutdown", "reboot", "destroy", "suspend"])
def test_it_refuses_power_actions_on_vms_the_team_does_not_own(world, api, action):
    refused(api("operator").post(f"/api/vms/{world.legacy.pk}/{action}/"), "belongs to no team")
    refused(api("viewer").post(f"/api/vms/{world.bluevm.pk}/{action}/"), "operators of team blue")
    refused(api("operator").post(f"/api/vms/{world.redvm.pk}/{action}/"), status=404)
    refused(api("operator").post(f"/api/vms/{world.farvm.pk}/{action}/"), status=404)


def test_it_refuses_deleting_another_teams_vm_with_its_disks(world, api):
    refused(api("other").delete(f"/api/vms/{world.bluevm.pk}/?remove_disks=true"), status=404)
    refused(api("viewer").delete(f"/api/vms/{world.bluevm.pk}/?remove_disks=true"), "operators")
    refused(api("operator").delete(f"/api/vms/{world.legacy.pk}/?remove_disks=true"), "no team")
    client = Client()
    client.force_login(world.users["viewer"])
    refused(client.post(f"/vms/{world.bluevm.pk}/delete/", {"remove_disks": "on"}), "operators")


def test_it_refuses_adding_removing_and_repointing_nics_of_vms_not_the_teams(world, api):
    nic = "52:54:00:00:00:02"
    refused(api("operator").post(f"/api/vms/{world.legacy.pk}/nics/",
                                 {"type": "network", "source": "default"}, format="json"), "no team")
    refused(api("viewer").post(f"/api/vms/{world.bluevm.pk}/nics/",
                               {"type": "network", "source": "bluenet"}, format="json"), "operators")
    refused(api("other").delete(f"/api/vms/{world.bluevm.pk}/nics/52:54:00:00:00:01/"), status=404)
    refused(api("operator").patch(f"/api/vms/{world.redvm.pk}/nics/{nic}/",
                                  {"type": "network", "source": "bluenet"}, format="json"), status=404)


def test_it_refuses_nics_on_networks_the_team_may_not_use(world, api):
    # default was found by a sync and is not named in blue's grant.
    refused(api("operator").post(f"/api/vms/{world.bluevm.pk}/nics/",
                                 {"type": "network", "source": "default"}, format="json"),
            "may not attach NICs to network 'default'")
    refused(api("operator").patch(f"/api/vms/{world.bluevm.pk}/nics/52:54:00:00:00:01/",
                                  {"type": "network", "source": "default"}, format="json"),
            "may not attach")


def test_it_refuses_a_nic_on_a_host_bridge_not_granted(world, api):
    refused(api("operator").post(f"/api/vms/{world.bluevm.pk}/nics/",
                                 {"type": "bridge", "source": "br0"}, format="json"),
            "host bridge 'br0'")
    world.blue.grants.filter(host=world.host).update(bridges=["br0"])
    response = api("operator").post(f"/api/vms/{world.bluevm.pk}/nics/",
                                    {"type": "bridge", "source": "br0"}, format="json")
    assert response.status_code == 202, response.content


def test_it_refuses_macvtap_passthrough_on_the_management_nic(world, api):
    refused(api("operator").post(f"/api/vms/{world.bluevm.pk}/nics/",
                                 {"type": "direct", "source": "eth0", "mode": "passthrough"},
                                 format="json"), "only administrators attach direct NICs")
    refused(api("teamadmin").post("/api/vms/", {
        "host": world.host.pk, "name": "tap1", "memory_mib": 64,
        "nics": [{"type": "direct", "source": "eth0", "mode": "passthrough"}]}, format="json"),
        "only administrators")


DNSMASQ_XML = """<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>
  <name>evil</name><forward mode='nat'/><ip address='10.20.9.1' netmask='255.255.255.0'/>
  <dnsmasq:options><dnsmasq:option value='dhcp-script=/tmp/x.sh'/></dnsmasq:options>
</network>"""


def test_it_refuses_network_xml_with_dnsmasq_options(world, api):
    refused(api("operator").post("/api/networks/", {"host": world.host.pk, "xml": DNSMASQ_XML},
                                 format="json"), "foreign namespaces", "dnsmasq")
    client = Client()
    client.force_login(world.users["operator"])
    refused(client.post("/networks/import/", {"host": world.host.pk, "xml": DNSMASQ_XML}),
            "foreign namespaces")
    # Editing the team's own network into one with dnsmasq:options: refused as well.
    edited = DNSMASQ_XML.replace("evil", "bluenet")
    refused(api("operator").put(f"/api/networks/{world.bluenet.pk}/xml/", {"xml": edited},
                                format="json"), "foreign namespaces")


def test_it_refuses_host_bridge_and_macvtap_networks_to_operators(world, api):
    refused(api("operator").post("/api/networks/", {"host": world.host.pk, "name": "lan",
                                                    "kind": "bridge", "bridge": "br0"},
                                 format="json"), "only administrators create or edit bridge")
    refused(api("operator").post("/api/networks/", {
        "host": world.host.pk, "name": "tap", "kind": "macvtap-passthrough", "devices": ["eth0"]},
        format="json"), "macvtap-passthrough")


@pytest.mark.parametrize("field,path", [
    ("iso", "/var/lib/kvmweb/ssh/id_ed25519"), ("kernel", "/etc/shadow"),
    ("iso", "/var/lib/libvirt/images/../../../../etc/shadow"), ("kernel", "/")])
def test_it_refuses_boot_files_outside_storage_pools(world, api, field, path):
    spec = {"host": world.host.pk, "name": "boot1", "memory_mib": 64, "boot": "cdrom",
            field: path}
    if field == "kernel":
        spec.update(boot="kernel", initrd="/var/lib/libvirt/images/installer.iso")
    refused(api("operator").post("/api/vms/", spec, format="json"), "storage pools")


def test_it_allows_an_iso_that_is_a_pool_volume(world, api):
    response = api("operator").post("/api/vms/", {
        "host": world.host.pk, "name": "inst1", "memory_mib": 64, "boot": "cdrom",
        "iso": "/var/lib/libvirt/images/installer.iso"}, format="json")
    assert response.status_code == 202, response.content
    assert Operation.objects.get().team == world.blue


def test_it_refuses_attaching_another_vms_volume(world, api):
    refused(api("other").post("/api/vms/", {
        "host": world.host.pk, "name": "thief", "memory_mib": 64, "boot": "hd",
        "disk": "existing", "volume": "/var/lib/libvirt/images/blue.qcow2"}, format="json"),
        "is a disk of bluevm")


def test_it_refuses_taking_over_a_network_by_its_name(world, api):
    # The old rule: whoever once asked to create a network of that name could change it.
    Operation.objects.create(user=world.users["other"], host=world.host, action="network.create",
                             target="network:bluenet")
    response = api("other").post(f"/api/networks/{world.bluenet.pk}/stop/")
    assert response.status_code == 404
    assert Operation.objects.count() == 1


def test_it_refuses_syncs_and_firewall_reads_to_viewers(world, api):
    refused(api("viewer").post(f"/api/hosts/{world.host.pk}/sync/"), "operators")
    refused(api("viewer").post("/api/vms/refresh/", {"host": world.host.pk}, format="json"),
            "operators")
    refused(api("viewer").post(f"/api/networks/{world.bluenet.pk}/firewall/"), "firewall")


def test_it_rate_limits_syncs_and_firewall_reads(world, api):
    op = api("operator")
    assert op.post(f"/api/hosts/{world.host.pk}/sync/").status_code == 202
    assert op.post(f"/api/hosts/{world.host.pk}/sync/").status_code == 202
    third = op.post(f"/api/hosts/{world.host.pk}/sync/")
    assert third.status_code == 429 and "try again in" in third.json()["detail"]
    assert Operation.objects.filter(action="host.sync").count() == 2
    for _ in range(2):
        assert op.post(f"/api/networks/{world.bluenet.pk}/firewall/").status_code == 202
    assert op.post(f"/api/networks/{world.bluenet.pk}/firewall/").status_code == 429
    assert Operation.objects.filter(action="network.firewall").count() == 2
    # Administrators are not limited.
    for _ in range(3):
        assert api("staff").post(f"/api/hosts/{world.host.pk}/sync/").status_code == 202


def follow(user, group):
    async def session():
        communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
        communicator.scope["user"] = user
        connected, _ = await communicator.connect()
        assert connected
        await communicator.send_json_to({"follow": group})
        answer = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return answer

    return async_to_sync(session)()


@pytest.mark.django_db(transaction=True)
def test_the_hosts_stream_carries_only_hosts_the_user_may_see(world):
    viewer = world.users["viewer"]
    assert follow(viewer, "hosts")["type"] == "error"  # no all-hosts group any more
    assert follow(viewer, f"host.{world.far.pk}")["type"] == "error"
    assert follow(viewer, f"host.{world.host.pk}")["type"] == "following"
    client = Client()
    client.force_login(viewer)
    page = client.get("/hosts/").content.decode()
    assert f'data-live-groups="host.{world.host.pk} "' in page and "kvm2" not in page


def test_the_interface_tree_hides_another_teams_vm_names(world, api):
    from hosts.models import HostInterface

    world.bluevm.nics.update(target="vnet5")
    HostInterface.objects.create(host=world.host, name="vnet5", kind="tun/tap", master="virbr0")
    assert "bluevm" in api("operator").get(f"/api/hostnet/{world.host.pk}/").content.decode()
    assert "bluevm" not in api("other").get(f"/api/hostnet/{world.host.pk}/").content.decode()
