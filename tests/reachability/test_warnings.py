"""Warnings before the mistake: what cannot work is refused with the reason and the
alternative (macvtap on a device that is already a bridge port); what works in a surprising way
is said (the macvtap blind spot, NAT isolation, a moved NIC keeping its old address); the
network form says for each kind who can reach whom."""

import pytest
from django.test import Client

from hosts.models import HostInterface
from operations.models import Operation
from tests.networks.conftest import synced_host  # noqa: F401 - fixture
from tests.vms.test_vm_validation import create, host, refused, vm  # noqa: F401 - fixtures
from vms.validation import nic_warnings

pytestmark = pytest.mark.django_db


def test_it_refuses_macvtap_on_a_bridge_port_saying_what_to_use(admin_api, host):
    HostInterface.objects.filter(host=host, name="eth0").update(master="br0")
    response = create(admin_api, host, nics=[{"type": "direct", "source": "eth0",
                                               "mode": "bridge"}])
    refused(response, "source", "eth0 is a port of bridge br0", nic=0)
    text = " ".join(response.json()["nics"][0]["source"])
    assert "Device or resource busy" in text and "Use the bridge instead" in text
    assert "macvtap on br0" in text
    # macvtap on the bridge itself is fine.
    assert create(admin_api, host, nics=[{"type": "direct", "source": "br0"}]).status_code == 202


def test_the_nic_api_refuses_it_too(admin_api, host, vm):
    HostInterface.objects.filter(host=host, name="eth0").update(master="br0")
    response = admin_api.post(f"/api/vms/{vm.pk}/nics/", {"type": "direct", "source": "eth0"},
                              format="json")
    refused(response, "source", "port of bridge br0")


def test_a_macvtap_network_on_a_bridge_port_is_refused(admin_api, synced_host):
    HostInterface.objects.filter(host=synced_host, name="eth0").update(master="br0")
    response = admin_api.post("/api/networks/", {"host": synced_host.pk, "name": "tap",
                                                 "kind": "macvtap-bridge", "devices": ["eth0"]},
                              format="json")
    assert response.status_code == 400, response.content
    assert "port of bridge br0" in str(response.json()["devices"])
    assert not Operation.objects.exists()


def test_it_warns_about_the_macvtap_blind_spot_and_nat(host, vm):
    (blind,) = nic_warnings(host, {"type": "direct", "source": "eth0"})
    assert "not kvm1 itself" in blind and "second NIC" in blind
    host.networks.filter(name="default").update(kind="nat")
    (nat,) = nic_warnings(host, {"type": "network", "source": "default"})
    assert "NAT network" in nat and "cannot start connections to it" in nat
    # nothing to say about a bridge
    assert nic_warnings(host, {"type": "bridge", "source": "br0"}) == []
    # a running NIC moved elsewhere: its old address stays until DHCP renews
    moved = nic_warnings(host, {"type": "bridge", "source": "br0"}, old=vm.nics.get(),
                         running=True)
    assert len(moved) == 1 and "bounce the NIC's link" in moved[0]


def test_the_page_shows_the_warning_after_adding_a_macvtap_nic(host, vm, admin_user):
    client = Client()
    client.force_login(admin_user)
    response = client.post(f"/vms/{vm.pk}/nics/add/", {"type": "direct", "source": "eth0",
                                                       "mode": "bridge", "model": "virtio"},
                           follow=True)
    assert "not kvm1 itself" in response.content.decode()
    assert Operation.objects.filter(action="nic.add").count() == 1


def test_the_network_form_says_who_reaches_whom(admin_user, synced_host):
    client = Client()
    client.force_login(admin_user)
    page = client.get("/networks/add/").content.decode()
    for line in ("nothing outside can start a connection in", "not this host",
                 "once the LAN router has a route"):
        assert line in page


def test_the_network_page_warns_when_mtus_differ_on_its_bridge(admin_user, synced_host):
    from networks.models import Network

    default = Network.objects.get(host=synced_host, name="default")
    HostInterface.objects.filter(host=synced_host, name="virbr0").update(mtu=1500)
    HostInterface.objects.create(host=synced_host, name="vnet0", kind="tun/tap", master="virbr0",
                                 mtu=1500)
    client = Client()
    client.force_login(admin_user)
    assert 'id="mtu-warning"' not in client.get(f"/networks/{default.pk}/").content.decode()
    HostInterface.objects.filter(host=synced_host, name="vnet0").update(mtu=9000)
    page = client.get(f"/networks/{default.pk}/").content.decode()
    assert 'id="mtu-warning"' in page and "virbr0 1500, vnet0 9000" in page


def test_the_nic_api_answers_carry_the_warnings_and_offer_the_bounce(admin_api, host, vm):
    response = admin_api.post(f"/api/vms/{vm.pk}/nics/", {"type": "direct", "source": "eth0"},
                              format="json")
    assert response.status_code == 202, response.content
    assert any("not kvm1 itself" in w for w in response.json()["warnings"])
    vm.state = "running"
    vm.save()
    nic = vm.nics.get()
    response = admin_api.patch(f"/api/vms/{vm.pk}/nics/{nic.mac}/",
                               {"type": "bridge", "source": "br0"}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert any("keeps its old address" in w for w in body["warnings"])
    (offer,) = body["offers"]
    assert offer["kind"] == "bounce-link"
    assert offer["api"] == f"/api/vms/{vm.pk}/nics/{nic.mac}/bounce/"
    bounce = admin_api.post(offer["api"])
    assert bounce.status_code == 202 and bounce.json()["action"] == "nic.bounce"
    # A NIC whose link is down is set up, not bounced.
    nic.link_state = "down"
    nic.save()
    assert admin_api.post(offer["api"]).status_code == 400


def test_a_port_move_of_a_running_vm_says_it_lasts_until_restart(admin_api, admin_user, host,
                                                                  vm):
    from vms.services import persist_offer

    vm.state = "running"
    vm.save()
    nic = vm.nics.get()
    nic.target = "vnet7"
    nic.save()
    HostInterface.objects.create(host=host, name="vnet7", kind="tun/tap", master="virbr0")
    HostInterface.objects.filter(host=host, name="br0").update(kind="bridge")
    client = Client()
    client.force_login(admin_user)
    page = client.post(f"/hostnet/{host.pk}/port_move/", {"port": "vnet7", "bridge": "br0",
                                                          "timeout": 30}).content.decode()
    assert "lasts until it stops" in page and "make it persistent" in page
    response = admin_api.post(f"/api/hostnet/{host.pk}/port_move/", {"port": "vnet7",
                                                                    "bridge": "br0"}, format="json")
    assert response.status_code == 202, response.content
    assert any("lasts until it stops" in n for n in response.json()["params"]["preview"]["notes"])
    offer = persist_offer(vm, nic.mac, "br0")
    page = client.get(offer["href"]).content.decode()
    assert 'id="persist"' in page and "Make it persistent" in page
    response = client.post(f"/vms/{vm.pk}/nics/{nic.mac}/persist/")
    assert response.status_code == 302
    assert Operation.objects.get(action="nic.persist").params["mac"] == nic.mac


def test_the_create_page_and_api_warn_about_each_nic(admin_api, admin_user, host):
    spec = {"host": host.pk, "name": "w1", "memory_mib": 128, "vcpus": 1, "disk": "none",
            "boot": "network", "domain_type": "auto"}
    response = admin_api.post("/api/vms/", {**spec, "nics": [
        {"type": "bridge", "source": "br0"}, {"type": "direct", "source": "eth0"}]},
        format="json")
    assert response.status_code == 202, response.content
    (warning,) = response.json()["warnings"]
    assert warning.startswith("NIC 2: macvtap on eth0")
    client = Client()
    client.force_login(admin_user)
    page = client.post(f"/vms/create/?host={host.pk}", {
        **spec, "name": "w2", "start": "on", "nics-TOTAL_FORMS": 1, "nics-INITIAL_FORMS": 0,
        "nics-MIN_NUM_FORMS": 0, "nics-MAX_NUM_FORMS": 1000, "nics-0-type": "direct",
        "nics-0-source": "eth0", "nics-0-mode": "bridge", "nics-0-model": "virtio"},
        follow=True).content.decode()
    assert "NIC 1: macvtap on eth0" in page and "not kvm1 itself" in page
