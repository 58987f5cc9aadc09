"""The "Can it reach…?" box and answer in people's words: after an answer the box holds each end
by its label ("bluevm · NIC 52:54:… on kvm1"), never a graph id; the label asked again names
the same end; the path reads as hops ("vnet3 on kvm1 → virbr5 (bluenet on kvm1) → …"); the API
keeps the ids and adds the labels."""

import html
import re

import pytest
from django.test import Client

from hosts.models import HostInterface
from tests.teams.conftest import _fresh_rate_limits, api, world  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

BLUE_LABEL = "bluevm · NIC 52:54:00:00:00:01 on kvm1"


@pytest.fixture(autouse=True)
def _wired(world):
    """kvm1's eth0 holds the default route; bluevm's NIC is plugged in through tap vnet3."""
    HostInterface.objects.filter(host=world.host, name="eth0").update(up=True, carrier=True, stats={
        "routes": [{"family": "inet", "dst": "default", "gateway": "10.0.0.254", "metric": 0}]})
    HostInterface.objects.create(host=world.host, name="virbr5", kind="bridge", up=True,
                                 carrier=True)
    HostInterface.objects.create(host=world.host, name="vnet3", kind="tun", master="virbr5",
                                 up=True, carrier=True)
    world.bluevm.nics.update(target="vnet3")


def _page(user, params):
    client = Client()
    client.force_login(user)
    response = client.get("/reachability/", params)
    return response.status_code, html.unescape(response.content.decode())


def _box(page):
    return dict(re.findall(r'<input[^>]*id="reach-(source|destination)"[^>]*value="([^"]*)"', page))


def _hops(page):
    path = page.split('id="reach-hops">')[1].split("</p>")[0]
    return [h.strip() for h in re.sub(r"<[^>]+>", "", path).split("→")]


def test_the_box_holds_labels_not_graph_ids_and_the_path_reads_as_hops(world):
    nic = f"nic:{world.host.pk}:d1:52:54:00:00:00:01"
    status, page = _page(world.users["viewer"], {"source": nic, "destination": "10.0.0.50"})
    assert status == 200 and 'id="reach-verdict"' in page
    assert _box(page) == {"source": BLUE_LABEL, "destination": "10.0.0.50"}
    hops = _hops(page)
    assert hops[:5] == ["bluevm NIC 52:54:00:00:00:01", "vnet3 on kvm1",
                        "virbr5 (bluenet on kvm1)", "network bluenet on kvm1", "eth0 on kvm1"]
    assert hops[-1] == "LAN 10.0.0.0/24" and not any("nic:" in h or "if:" in h for h in hops)
    # From a VM page (source_vm) too: the box then names the NIC, not the VM's id.
    status, page = _page(world.users["viewer"], {"source_vm": world.bluevm.pk,
                                                 "destination": "kvm1"})
    assert _box(page) == {"source": BLUE_LABEL, "destination": "kvm1"}
    assert 'name="source_vm"' not in page.split('id="reach-box"')[1].split("</form>")[0]


def test_a_label_asked_again_names_the_same_end(world, api):
    by_id = api("viewer").get("/api/reachability/", {"source_vm": world.bluevm.pk,
                                                      "destination": "10.0.0.50"}).json()
    by_label = api("viewer").get("/api/reachability/", {"source": BLUE_LABEL,
                                                         "destination": "10.0.0.50"}).json()
    nic = f"nic:{world.host.pk}:d1:52:54:00:00:00:01"
    assert by_label["source"]["id"] == by_id["source"]["id"] == nic
    assert by_label["source"]["form_label"] == BLUE_LABEL
    assert by_label["hops"] == [h["id"] for h in by_label["path"]]  # the ids stay, labels beside
    assert by_label["path"][2] == {"id": f"if:{world.host.pk}:virbr5",
                                   "label": "virbr5 (bluenet on kvm1)"}
    assert all(c["hop_label"] for c in by_label["causes"] if c["hop"])
    status, page = _page(world.users["viewer"], {"source": BLUE_LABEL, "destination": "kvm1"})
    assert status == 200 and _box(page)["source"] == BLUE_LABEL


def test_a_label_of_something_the_user_may_not_see_is_not_found(world, api):
    red = "redvm · NIC 52:54:00:00:00:02 on kvm1"  # team red's VM: blue's viewer may not see it
    assert api("viewer").get("/api/reachability/", {"source": red,
                                                     "destination": "kvm1"}).status_code == 404
    assert api("staff").get("/api/reachability/", {"source": red,
                                                    "destination": "kvm1"}).status_code == 200
    wrong_host = "bluevm · NIC 52:54:00:00:00:01 on kvm2"
    assert api("staff").get("/api/reachability/", {"source": wrong_host,
                                                    "destination": "kvm1"}).status_code == 404
