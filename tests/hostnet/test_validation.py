"""Every refusal of host network changes: a clear field error, no Operation created."""

import pytest

from hosts.models import Host, HostInterface
from operations.models import Operation

pytestmark = pytest.mark.django_db


def iface(host, name, kind, *addresses, master="", routes=(), **stats):
    return HostInterface.objects.create(
        host=host, name=name, kind=kind, master=master, mtu=1500, mac="52:54:00:aa:bb:01",
        addresses=[{"family": "inet6" if ":" in a else "inet", "address": a.split("/")[0],
                    "prefixlen": int(a.split("/")[1]), "scope": 0} for a in addresses],
        stats={**stats, "routes": list(routes)})


@pytest.fixture
def host(db):
    host = Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.74.0.11/system",
                               status=Host.Status.ONLINE)
    iface(host, "lo", "loopback", "127.0.0.1/8")
    iface(host, "eth0", "physical", "10.74.0.11/24", routes=[
        {"family": "inet", "dst": "default", "gateway": "10.74.0.1", "metric": 0}])
    iface(host, "eth1", "physical", max_mtu=9000)
    iface(host, "eth2", "physical", master="bond9")
    iface(host, "bond9", "bond")
    iface(host, "br0", "bridge", "10.74.9.1/24")
    iface(host, "virbr0", "bridge", "192.168.122.1/24")
    iface(host, "vnet0", "tun/tap", master="virbr0")
    return host


def refused(api, host, action, field, fragment, **params):
    before = Operation.objects.count()
    response = api.post(f"/api/hostnet/{host.pk}/{action}/", params, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert fragment in errors[field][0], errors[field]
    assert Operation.objects.count() == before


@pytest.mark.parametrize("name, fragment", [
    ("a" * 16, "at most 15"), ("br/0", "'/'"), ("br 0", "' '"), ("br:0", "':'"),
    (".", "not interface names"), ("..", "not interface names"), ("br\t0", "'\\t'"),
])
def test_it_rejects_names_the_kernel_refuses(admin_api, host, name, fragment):
    refused(admin_api, host, "bridge_create", "name", fragment, name=name)


def test_it_rejects_a_name_in_use(admin_api, host):
    refused(admin_api, host, "bridge_create", "name", "already exists", name="virbr0")
    refused(admin_api, host, "vlan_create", "name", "already exists", parent="eth1", vlan_id=5,
            name="eth2")


@pytest.mark.parametrize("vid", [0, 4095, -1, "x"])
def test_it_rejects_vlan_ids_outside_1_to_4094(admin_api, host, vid):
    refused(admin_api, host, "vlan_create", "vlan_id", "VLAN id", parent="eth1", vlan_id=vid)


@pytest.mark.parametrize("mtu, fragment", [(67, "between 68"), (65536, "between 68"),
                                           (9001, "and 9000")])
def test_it_rejects_mtu_out_of_range_or_above_the_device_max(admin_api, host, mtu, fragment):
    refused(admin_api, host, "mtu", "mtu", fragment, name="eth1", mtu=mtu)


def test_it_rejects_unknown_bond_mode(admin_api, host):
    refused(admin_api, host, "bond_create", "mode", "unknown bond mode", name="bond1",
            mode="fastest", members=["eth1"])


def test_it_rejects_bond_members_already_enslaved(admin_api, host):
    refused(admin_api, host, "bond_create", "members", "already enslaved to bond9",
            name="bond1", members=["eth2"])


def test_it_rejects_enslaving_the_management_uplink_without_moving_addresses(admin_api, host):
    refused(admin_api, host, "bridge_create", "move_addresses", "cuts this host off",
            name="br1", uplink="eth0", move_addresses=False)
    refused(admin_api, host, "bond_create", "members", "management address", name="bond1",
            members=["eth0"])


def test_it_rejects_stp_forward_delay_longer_than_the_rollback_timeout(admin_api, host):
    refused(admin_api, host, "bridge_create", "timeout", "forwards nothing", name="br1",
            uplink="eth0", stp=True, forward_delay=15, timeout=10)


def test_it_rejects_deleting_the_management_bridge_without_giving_it_back(admin_api, host):
    HostInterface.objects.filter(host=host, name="eth0").update(master="br0", addresses=[],
                                                                stats={})
    HostInterface.objects.filter(host=host, name="br0").update(addresses=[
        {"family": "inet", "address": "10.74.0.11", "prefixlen": 24, "scope": 0}], stats={"routes": [
        {"family": "inet", "dst": "default", "gateway": "10.74.0.1", "metric": 0}]})
    refused(admin_api, host, "bridge_delete", "give_back", "cuts this host off", name="br0",
            give_back=False)


def test_it_rejects_a_port_move_to_a_bridge_that_does_not_exist(admin_api, host):
    refused(admin_api, host, "port_move", "bridge", "no bridge 'isolationbr'", port="vnet0",
            bridge="isolationbr")
    refused(admin_api, host, "port_move", "bridge", "no bridge 'eth1'", port="vnet0",
            bridge="eth1")


def test_it_rejects_timeouts_out_of_range_and_the_management_link_down(admin_api, host):
    refused(admin_api, host, "mtu", "timeout", "between 5", name="eth1", mtu=1500, timeout=1)
    refused(admin_api, host, "link_state", "up", "cuts this host off", name="eth0", up=False)


def test_plain_users_may_not_change_host_networking(user_api, plain_user, host):
    from tests.conftest import grant

    grant(plain_user, host, "admin")  # even a team admin of a team granted the host
    response = user_api.post(f"/api/hostnet/{host.pk}/mtu/", {"name": "eth1", "mtu": 1400},
                             format="json")
    assert response.status_code == 403
    assert not Operation.objects.exists()


def test_the_plan_preview_lists_steps_and_the_resulting_state(admin_api, host):
    response = admin_api.post(f"/api/hostnet/{host.pk}/bridge_create/plan/",
                              {"name": "br1", "uplink": "eth0"}, format="json")
    assert response.status_code == 200, response.content
    plan = response.json()
    ops = [s["op"] for s in plan["steps"]]
    assert ops[0] == "link_add" and "route_add" in ops
    bridge = plan["result"][0]
    assert bridge["addresses"][0]["address"] == "10.74.0.11"
    assert bridge["mac"] == "52:54:00:aa:bb:01"
    assert plan["result"][1] == {**plan["result"][1], "master": "br1", "addresses": []}
    assert not Operation.objects.exists()
