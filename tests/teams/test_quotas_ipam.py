"""Quotas refuse with used and allowed (nothing created); a team network's subnet comes from the
team's pool and never overlaps another network on any host or a host's routes."""

import pytest

from networks.models import Network
from operations.models import Operation
from teams.models import AddressPool

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(world):
    return AddressPool.objects.create(team=world.blue, cidr="10.20.0.0/16", prefix=24)


def create_network(api, world, **extra):
    return api("operator").post("/api/networks/", {"host": world.host.pk, "name": "n1", **extra},
                                format="json")


def test_a_new_network_takes_the_next_free_pool_subnet(world, api, pool):
    # bluenet has 10.20.0.0/24 on kvm1; kvm2 has 10.20.1.0/24; kvm1 routes 10.20.2.0/24.
    Network.objects.create(host=world.far, name="x", uuid="nx", subnets=["10.20.1.0/24"], xml="<network/>")
    eth0 = world.host.interfaces.get(name="eth0")
    eth0.stats = {"routes": [{"family": "inet", "dst": "10.20.2.0/24", "gateway": "10.0.0.254"}]}
    eth0.save()
    response = create_network(api, world)
    assert response.status_code == 202, response.content
    op = Operation.objects.get()
    assert op.params["subnet"] == "10.20.3.0/24" and op.team == world.blue
    assert "<ip address=\"10.20.3.1\"" in op.params["xml"] or "10.20.3.1" in op.params["xml"]
    # A queued network's subnet is taken too.
    response = api("operator").post("/api/networks/", {"host": world.host.pk, "name": "n2"},
                                    format="json")
    assert response.status_code == 202 and Operation.objects.latest("pk").params["subnet"] == "10.20.4.0/24"


def test_a_subnet_outside_the_pool_is_refused(world, api, pool):
    response = create_network(api, world, subnet="192.168.77.0/24")
    assert response.status_code == 400 and "outside team blue's address pools" in response.json()["subnet"][0]
    assert not Operation.objects.exists()


def test_an_exhausted_pool_says_so(world, api):
    AddressPool.objects.create(team=world.blue, cidr="10.20.0.0/24", prefix=24)  # bluenet has it
    response = create_network(api, world)
    assert response.status_code == 400 and "no free subnet" in response.json()["subnet"][0]


def test_a_network_over_quota_is_refused_with_used_and_allowed(world, api, pool):
    world.blue.max_networks = 2
    world.blue.save()
    assert create_network(api, world).status_code == 202  # bluenet + this one = 2
    response = api("operator").post("/api/networks/", {"host": world.host.pk, "name": "n2"},
                                    format="json")
    assert response.status_code == 403
    assert "networks: 2 used + 1 asked > 2 allowed" in response.json()["detail"]
    assert Operation.objects.count() == 1


def test_addresses_are_a_quota_too(world, api, pool):
    world.blue.max_addresses = 300  # bluenet's /24 is 256
    world.blue.save()
    response = create_network(api, world)
    assert response.status_code == 403 and "addresses: 256 used + 256 asked > 300" in response.json()["detail"]


def test_vms_over_quota_are_refused_with_used_and_allowed(world, api):
    world.blue.max_vcpus, world.blue.max_memory_mib = 3, 1024
    world.blue.save()
    vm = {"host": world.host.pk, "name": "v1", "memory_mib": 256, "vcpus": 2, "boot": "cdrom",
          "iso": "/var/lib/libvirt/images/installer.iso"}
    assert api("operator").post("/api/vms/", vm, format="json").status_code == 202
    response = api("operator").post("/api/vms/", {**vm, "name": "v2", "memory_mib": 600}, format="json")
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert "vCPUs: 3 used + 2 asked > 3 allowed" in detail and "memory: 512 MiB used" in detail
    assert Operation.objects.count() == 1


def test_nics_over_quota_are_refused(world, api):
    world.blue.max_nics = 1  # bluevm has one
    world.blue.save()
    response = api("operator").post(f"/api/vms/{world.bluevm.pk}/nics/",
                                    {"type": "network", "source": "bluenet"}, format="json")
    assert response.status_code == 403 and "NICs: 1 used + 1 asked > 1 allowed" in response.json()["detail"]
    assert not Operation.objects.exists()


def test_administrators_are_not_held_to_pools(world, api, pool):
    response = api("staff").post("/api/networks/", {"host": world.host.pk, "name": "adm",
                                                    "subnet": "192.168.77.0/24", "team": world.blue.pk},
                                 format="json")
    assert response.status_code == 202, response.content
    assert Operation.objects.get().team == world.blue


def test_an_operator_of_two_teams_says_which_one(world, api):
    from tests.conftest import grant

    grant(world.users["operator"], world.host, "operator", "red")
    response = create_network(api, world)
    assert response.status_code == 403 and "choose the team" in response.json()["detail"]
    response = create_network(api, world, team=world.red.pk)
    assert response.status_code == 202 and Operation.objects.get().team == world.red


def test_an_edit_keeps_a_team_network_in_its_pools(world, api, pool):
    response = api("operator").patch(f"/api/networks/{world.bluenet.pk}/",
                                     {"subnet": "192.168.50.0/24", "gateway": "192.168.50.1"},
                                     format="json")
    assert response.status_code == 403, response.content
    assert "outside team blue's address pools" in response.json()["detail"]
    assert not Operation.objects.exists()
