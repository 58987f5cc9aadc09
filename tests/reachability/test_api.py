"""/api/reachability/ and the "Can it reach…?" box, on the teams world (tests/teams/conftest.py):
answers come from the database, only about what the user may see, and nothing is enqueued."""

import pytest
from django.test import Client

from operations.models import Operation
from tests.teams.conftest import _fresh_rate_limits, api, world  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_route(world):
    """kvm1's eth0 is up and holds the default route (NAT networks go out that way)."""
    from hosts.models import HostInterface

    HostInterface.objects.filter(host=world.host, name="eth0").update(up=True, carrier=True, stats={"routes": [
        {"family": "inet", "dst": "default", "gateway": "10.0.0.254", "metric": 0}]})


def test_it_answers_from_a_vm_to_an_outside_address(world, api):
    response = api("viewer").get("/api/reachability/", {"source_vm": world.bluevm.pk,
                                                         "destination": "10.0.0.50"})
    assert response.status_code == 200, response.content
    answer = response.json()
    # bluevm is behind NAT (bluenet): it starts connections out, the LAN cannot start one in.
    assert answer["verdict"] == "one-way" and answer["forward"] is True
    assert [c["code"] for c in answer["causes"]] == ["nat-inbound"]
    assert answer["source"]["id"] == f"nic:{world.host.pk}:d1:52:54:00:00:00:01"
    bridge, move, routed = answer["causes"][0]["fixes"]
    assert (bridge["kind"], bridge["applies"], bridge["target"]["iface"]) == (
        "bridge-over-uplink", "plan", "eth0")
    assert bridge["href"] == f"/hostnet/{world.host.pk}/bridge_create/?name=br1&uplink=eth0"
    assert move["href"] == f"/vms/{world.bluevm.pk}/nics/52:54:00:00:00:01/?type=bridge&source=br1"
    assert routed["href"] == f"/networks/add/?host={world.host.pk}&kind=route"
    assert "ip route add SUBNET via 10.0.0.1" in routed["detail"]
    # The path as topology graph ids (nodes and edges) for the page to highlight.
    nic = answer["source"]["id"]
    assert answer["elements"][:3] == [nic, f"source|net:{world.host.pk}:bluenet|{nic}",
                                      f"net:{world.host.pk}:bluenet"]
    assert Operation.objects.count() == 0


def test_it_finds_ends_by_name(world, api):
    answer = api("staff").get("/api/reachability/", {"source": "bluevm",
                                                      "destination": "kvm1"}).json()
    assert answer["destination"]["id"] == f"host:{world.host.pk}"
    assert answer["verdict"] == "reachable"


def test_it_refuses_ends_the_user_may_not_see(world, api):
    # redvm is team red's: to team blue it does not exist, by id or by name.
    for params in ({"source_vm": world.redvm.pk, "destination": "10.0.0.50"},
                   {"source_vm": world.bluevm.pk, "destination": "redvm"}):
        response = api("viewer").get("/api/reachability/", params)
        assert response.status_code == 404, response.content
    assert api(None).get("/api/reachability/", {"source_vm": world.bluevm.pk,
                                                "destination": "10.0.0.50"}).status_code in (401, 403)


def test_it_says_what_is_missing(world, api):
    response = api("viewer").get("/api/reachability/", {"destination": "10.0.0.50"})
    assert response.status_code == 400 and "source" in response.json()


def test_the_api_is_in_the_openapi_schema(world, api):
    schema = api("viewer").get("/api/schema/?format=json").json()
    assert "/api/reachability/" in schema["paths"]
    assert "Answer" in schema["components"]["schemas"]


def test_the_vm_page_has_the_box_and_the_page_answers(world):
    client = Client()
    client.force_login(world.users["viewer"])
    page = client.get(f"/vms/{world.bluevm.pk}/").content.decode()
    assert 'id="reach-box"' in page and f'name="source_vm" value="{world.bluevm.pk}"' in page
    answer = client.get("/reachability/", {"source_vm": world.bluevm.pk,
                                           "destination": "10.0.0.50"}).content.decode()
    assert 'data-verdict="one-way"' in answer and "MASQUERADE" in answer
    nic_page = client.get(f"/vms/{world.bluevm.pk}/nics/52:54:00:00:00:01/").content.decode()
    assert f'value="nic:{world.host.pk}:d1:52:54:00:00:00:01"' in nic_page
    missing = client.get("/reachability/", {"source": "nothing-here", "destination": "kvm1"})
    assert missing.status_code == 404 and "nothing called" in missing.content.decode()


def test_each_fix_opens_its_plan_pre_filled(world, api):
    """The links open the forms filled in; nothing is applied until the user confirms."""
    answer = api("staff").get("/api/reachability/", {"source_vm": world.bluevm.pk,
                                                     "destination": "10.0.0.50"}).json()
    bridge, move, routed = answer["causes"][0]["fixes"]
    client = Client()
    client.force_login(world.users["staff"])
    page = client.get(bridge["href"]).content.decode()
    assert 'value="br1"' in page and 'value="eth0"' in page  # the bridge_create form
    page = client.get(move["href"]).content.decode()
    assert 'id="nic-prefilled"' in page and 'value="br1"' in page
    assert '<option value="bridge" selected>' in page
    page = client.get(routed["href"]).content.decode()
    assert '<option value="route" selected>' in page
    assert Operation.objects.count() == 0
