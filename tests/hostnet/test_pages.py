"""The host networking pages: interface tree (bridge -> ports with STP state and the VM owning
a vnet), form errors, plan preview, confirm -> Operation. Views never call a host."""

import pytest

from hosts.models import Host, HostInterface
from operations.models import Operation
from vms.models import Domain, DomainInterface

pytestmark = pytest.mark.django_db


@pytest.fixture
def host(db):
    host = Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.74.0.11/system",
                               status=Host.Status.ONLINE)
    addr = [{"family": "inet", "address": "10.74.0.11", "prefixlen": 24, "scope": 0}]
    HostInterface.objects.create(host=host, name="br0", kind="bridge", addresses=addr, mtu=1500,
                                 stats={"stp": False, "forward_delay": 0, "routes": [
                                     {"family": "inet", "dst": "default",
                                      "gateway": "10.74.0.1", "metric": 0}]})
    HostInterface.objects.create(host=host, name="eth0", kind="physical", master="br0",
                                 stats={"port_state": "forwarding"})
    HostInterface.objects.create(host=host, name="vnet3", kind="tun/tap", master="br0",
                                 stats={"port_state": "forwarding"})
    dom = Domain.objects.create(host=host, uuid="1a1a1a1a-0000-4000-8000-0000000000aa",
                                name="web1", state="running")
    DomainInterface.objects.create(domain=dom, mac="52:54:00:00:00:01", type="bridge",
                                   source="br0", target="vnet3")
    return host


def test_tree_shows_ports_stp_state_and_the_vm_of_a_vnet(admin_client, host):
    page = admin_client.get(f"/hostnet/{host.pk}/").content.decode()
    assert 'data-iface="eth0" data-depth="1"' in page
    assert 'data-iface="vnet3" data-depth="1"' in page and 'data-vm="web1"' in page
    assert "forwarding" in page
    api = admin_client.get(f"/api/hostnet/{host.pk}/").json()
    br0 = next(n for n in api["interfaces"] if n["name"] == "br0")
    assert {c["name"]: c["vm"] for c in br0["children"]} == {"eth0": "", "vnet3": "web1"}


def test_form_error_preview_then_confirm_creates_the_operation(admin_client, host):
    url = f"/hostnet/{host.pk}/port_move/"
    page = admin_client.post(url, {"port": "vnet3", "bridge": "isolationbr", "timeout": 10})
    assert b"no bridge &#x27;isolationbr&#x27;" in page.content
    HostInterface.objects.create(host=host, name="isolationbr", kind="bridge")
    page = admin_client.post(url, {"port": "vnet3", "bridge": "isolationbr", "timeout": 10})
    assert b"ip link set vnet3 master isolationbr" in page.content
    assert not Operation.objects.exists()
    done = admin_client.post(url, {"port": "vnet3", "bridge": "isolationbr", "timeout": 10,
                                   "confirm": "yes"})
    op = Operation.objects.get()
    assert done.status_code == 302 and done.url == op.get_absolute_url()
    assert op.action == "hostnet.port_move" and op.params["bridge"] == "isolationbr"


def test_plain_users_see_the_tree_but_not_the_actions(client, plain_user, host):
    from tests.conftest import grant

    grant(plain_user, host, "operator")
    client.force_login(plain_user)
    assert b"hostnet-actions" not in client.get(f"/hostnet/{host.pk}/").content
    assert client.get(f"/hostnet/{host.pk}/mtu/").status_code == 403


def test_a_change_planned_on_an_old_state_of_the_interfaces_gets_409_with_the_diff(
        admin_client, admin_api, host):
    seen = admin_api.get(f"/api/hostnet/{host.pk}/").json()["version"]
    HostInterface.objects.filter(host=host, name="eth0").update(mtu=9000)  # changed since
    response = admin_api.post(f"/api/hostnet/{host.pk}/mtu/",
                              {"name": "br0", "mtu": 1400, "version": seen}, format="json")
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["seen_version"] == seen and body["version"] != seen
    assert "9000" in body["diff"] and not Operation.objects.exists()
    ok = admin_api.post(f"/api/hostnet/{host.pk}/mtu/",
                        {"name": "br0", "mtu": 1400, "version": body["version"]}, format="json")
    assert ok.status_code == 202, ok.content
    # The page's confirm carries the version its preview was planned on.
    page = admin_client.post(f"/hostnet/{host.pk}/mtu/", {"name": "br0", "mtu": 1300,
                                                          "timeout": 10, "confirm": "yes",
                                                          "version": seen})
    assert page.status_code == 409 and 'id="replan"' in page.content.decode()
    assert Operation.objects.count() == 1
