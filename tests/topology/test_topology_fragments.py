"""GET /api/topology/ joins the hosts' published parts, kept serialized per version: a new
version replaces the kept fragment, a part not compared with the database for a while is built
again, a host with something the user may not see is built for them, a new host row starts
unpublished, and the answer is compact (empty keys left out)."""

import pytest
from django.test import override_settings

from hosts.models import Host, HostInterface
from hosts.services import set_status
from hosts.signals import announce
from operations.locks import client as redis_client
from topology import graph, services
from topology_fixtures import MAC, store_classic_host

pytestmark = pytest.mark.django_db


def node(data, id):
    return next(n["data"] for n in data["nodes"] if n["data"]["id"] == id)


def test_the_api_joins_the_kept_fragments_without_building(admin_api, host, monkeypatch):
    first = admin_api.get("/api/topology/").json()  # publishes the host's part
    monkeypatch.setattr(graph, "build", lambda *a, **k: pytest.fail("built the graph again"))
    again = admin_api.get("/api/topology/").json()
    assert again == first
    assert f"nic:{host.pk}:uuid-pxe1:{MAC}" in {n["data"]["id"] for n in again["nodes"]}
    assert admin_api.get(f"/api/topology/?host={host.pk}").json()["versions"] == first["versions"]


def test_a_user_gets_whole_hosts_from_the_fragments_and_partly_hidden_ones_built(
        user_api, plain_user, monkeypatch):
    from teams.models import Team
    from tests.conftest import grant
    from vms.models import Domain

    h1 = store_classic_host("kvm1", "10.79.1.11")
    h2 = store_classic_host("kvm2", "10.79.1.12", uuid="uuid-pxe2")
    for h in (h1, h2):
        grant(plain_user, h, "viewer")
    services.refresh_many([h1.pk, h2.pk])
    whole = user_api.get("/api/topology/").json()
    both = {f"vm:{h1.pk}:uuid-pxe1", f"vm:{h2.pk}:uuid-pxe2"}
    assert both <= {n["data"]["id"] for n in whole["nodes"]}
    monkeypatch.setattr(graph, "build", lambda *a, **k: pytest.fail("built the graph again"))
    assert user_api.get("/api/topology/").json() == whole  # both seen whole: no build

    monkeypatch.undo()
    Domain.objects.filter(host=h1).update(owner=Team.objects.create(name="red"))
    built = []
    real = graph.build
    monkeypatch.setattr(graph, "build", lambda model, *a: built.append(
        [h.pk for h in model.hosts]) or real(model, *a))
    seen = {n["data"]["id"] for n in user_api.get("/api/topology/").json()["nodes"]}
    assert built == [[h1.pk]]  # only the host with something hidden from the user
    assert f"vm:{h1.pk}:uuid-pxe1" not in seen and f"if:{h1.pk}:vnet0" in seen
    assert f"vm:{h2.pk}:uuid-pxe2" in seen


def test_a_new_version_replaces_the_kept_fragment(admin_api, host):
    h = host.pk
    before = admin_api.get("/api/topology/").json()
    assert node(before, f"if:{h}:eth0")["state"] == "up"
    HostInterface.objects.filter(host=host, name="eth0").update(carrier=False)
    announce(h, "netlink")
    after = admin_api.get("/api/topology/").json()
    assert after["versions"][str(h)] == before["versions"][str(h)] + 1
    assert node(after, f"if:{h}:eth0")["state"] == "nocarrier"
    assert services._fragments[h][0] == after["versions"][str(h)]


def test_a_part_not_compared_for_a_while_is_built_again(admin_api, host):
    h = host.pk
    before = admin_api.get("/api/topology/").json()
    HostInterface.objects.filter(host=host, name="vnet0").update(up=False)  # nobody announced it
    trusted = admin_api.get("/api/topology/").json()
    assert trusted == before  # within KVMWEB_TOPOLOGY_RECHECK the published part is served
    with override_settings(KVMWEB_TOPOLOGY_RECHECK=0):
        checked = admin_api.get("/api/topology/").json()
    assert node(checked, f"if:{h}:vnet0")["state"] == "down"
    assert checked["versions"][str(h)] == before["versions"][str(h)] + 1


def test_the_answer_leaves_empty_keys_out_and_deltas_keep_them(admin_api, host):
    h = host.pk
    data = admin_api.get("/api/topology/").json()
    vm = node(data, f"vm:{h}:uuid-pxe1")
    assert "group" not in vm and vm["label"] == "pxe1" and vm["host"] == h
    assert node(data, f"if:{h}:eth0")["uplink"] is True
    assert "uplink" not in node(data, f"if:{h}:virbr0")
    assert node(data, "lan:10.79.1.0/24")["host"] is None  # always there, even when null
    version = data["versions"][str(h)]
    HostInterface.objects.filter(host=host, name="eth0").update(addresses=[])
    announce(h, "netlink")
    delta = admin_api.get(f"/api/topology/deltas/?host={h}&since={version}").json()["deltas"][0]
    assert {"id": f"if:{h}:eth0", "data": {"addresses": []}} in delta["change"]


def test_a_host_going_offline_is_published(admin_api, host):
    admin_api.get("/api/topology/")
    set_status(host, Host.Status.OFFLINE, "no route to host")
    data = admin_api.get("/api/topology/").json()
    assert node(data, f"host:{host.pk}")["offline"] is True


def test_a_new_host_row_does_not_inherit_a_published_part(db):
    r = redis_client()
    r.hset("kvmweb:topology:host4242", mapping={"version": 1, "part": "{}", "checked": 9e9})
    Host.objects.create(pk=4242, name="kvm9", uri="qemu+ssh://root@10.79.1.19/system")
    assert r.hget("kvmweb:topology:host4242", "version") is None  # a restored or reused pk
