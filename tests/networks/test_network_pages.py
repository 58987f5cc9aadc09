"""Network pages read the database and start Operations; refusals create nothing."""

import pytest

from networks.models import Lease, Network
from operations.models import Operation
from vms.models import Domain, DomainInterface

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def in_use(synced_host):
    dom = Domain.objects.create(host=synced_host, name="web1", uuid="u1", state="running", xml="<domain/>")
    DomainInterface.objects.create(domain=dom, mac="52:54:00:00:00:09", type="network",
                                   source="default", target="vnet0")
    return Network.objects.get(name="default")


def test_list_shows_every_column(page, in_use):
    html = page.get("/networks/").content.decode()
    for text in ("kvm1", "default", "nat", "virbr0", "192.168.122.0/24", "active"):
        assert text in html
    assert page.get(f"/networks/host/{in_use.host_id}/").status_code == 200


def test_the_form_shows_the_error_and_creates_nothing(page, synced_host):
    response = page.post("/networks/add/", {"host": synced_host.pk, "name": "lab1", "kind": "nat",
                                            "subnet": "192.168.100.0/24", "gateway": "192.168.100.0",
                                            "dhcp": "on"})
    assert response.status_code == 200
    assert b"network address of 192.168.100.0/24" in response.content
    assert not Operation.objects.exists()


def test_the_form_reads_static_hosts_lines(page, synced_host):
    response = page.post("/networks/add/", {"host": synced_host.pk, "name": "lab1", "kind": "nat",
                                            "dhcp": "on", "start": "on",
                                            "static_hosts": "52:54:00:00:00:01 192.168.100.10 a\nbogus"})
    assert b"line 2: cannot read" in response.content
    assert not Operation.objects.exists()
    response = page.post("/networks/add/", {"host": synced_host.pk, "name": "lab1", "kind": "nat",
                                            "dhcp": "on", "static_hosts": "52:54:00:00:00:01 192.168.100.10 a"})
    assert response.status_code == 302
    op = Operation.objects.get()
    assert op.action == "network.create" and "192.168.100.10" in op.params["xml"]
    assert op.params["start"] is False and response["Location"].endswith(f"?op={op.pk}")


def test_detail_shows_leases_rules_vms_and_xml(page, in_use):
    Lease.objects.create(network=in_use, mac="52:54:00:00:00:09", ip="192.168.122.50", hostname="web1")
    in_use.firewall = [{"family": "ip", "table": "nat", "chain": "LIBVIRT_PRT", "handle": 4,
                        "text": "ip saddr 192.168.122.0/24 target MASQUERADE", "packets": 1, "bytes": 2}]
    in_use.save()
    html = page.get(f"/networks/{in_use.pk}/").content.decode()
    for text in ("192.168.122.50", "MASQUERADE", "web1", "vnet0", "&lt;forward mode=&#x27;nat&#x27;/&gt;"):
        assert text in html, text


def test_a_restart_edit_is_previewed_with_the_nics_it_cuts_off(page, in_use):
    response = page.post(f"/networks/{in_use.pk}/edit/", {"kind": "nat", "dhcp": "on", "mtu": "1400",
                                                          "dhcp_start": "192.168.122.2",
                                                          "dhcp_end": "192.168.122.254"})
    html = response.content.decode()
    assert response.status_code == 200 and "restarts the network" in html
    assert "web1" in html and "52:54:00:00:00:09" in html and "+  &lt;mtu size=" in html
    assert not Operation.objects.exists()
    xml = response.context["xml"]
    response = page.post(f"/networks/{in_use.pk}/edit/", {"confirmed_xml": xml})
    assert response.status_code == 302
    assert Operation.objects.get().action == "network.redefine"


def test_a_live_edit_is_previewed_as_live(page, in_use):
    response = page.post(f"/networks/{in_use.pk}/edit/", {
        "kind": "nat", "dhcp": "on", "dhcp_start": "192.168.122.2", "dhcp_end": "192.168.122.254",
        "static_hosts": "52:54:00:00:00:0a 192.168.122.9 db"})
    assert b"no restart" in response.content
    assert response.context["edit"]["live_steps"][0][:2] == ("add", "ip-dhcp-host")


def test_delete_in_use_asks_first(page, in_use):
    response = page.post(f"/networks/{in_use.pk}/delete/")
    assert b"web1" in response.content and not Operation.objects.exists()
    response = page.post(f"/networks/{in_use.pk}/delete/", {"confirm": "1"})
    assert response.status_code == 302 and Operation.objects.get().action == "network.delete"


def test_plain_users_cannot_change_networks_they_did_not_create(client, plain_user, user_api, in_use):
    from tests.conftest import grant

    team = grant(plain_user, in_use.host, "operator")
    client.force_login(plain_user)
    assert client.post(f"/networks/{in_use.pk}/stop/").status_code == 403
    assert user_api.post(f"/api/networks/{in_use.pk}/stop/").status_code == 403
    assert not Operation.objects.exists()
    # Having once asked to create a network of that name no longer makes it yours.
    Operation.objects.create(user=plain_user, host=in_use.host, action="network.create",
                             target="network:default")
    assert user_api.post(f"/api/networks/{in_use.pk}/start/").status_code == 403
    in_use.owner = team
    in_use.save()
    assert user_api.post(f"/api/networks/{in_use.pk}/start/").status_code == 202


def test_import_rejects_bad_xml(page, synced_host):
    response = page.post("/networks/import/", {"host": synced_host.pk, "xml": "<network>"})
    assert b"not well-formed" in response.content
    assert not Operation.objects.exists()
