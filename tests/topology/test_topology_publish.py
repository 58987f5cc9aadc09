"""The topology read from the database, published per host with versions, pushed as deltas."""

import asyncio
import json
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from hosts.models import HostInterface
from hosts.signals import announce
from networks.models import Network
from operations.locks import client as redis_client
from topology import services
from topology.graph import build, host_part
from topology.models import UplinkSegment
from topology.readmodel import load
from topology_fixtures import MAC
from vms.models import Domain

pytestmark = pytest.mark.django_db


def test_it_reads_the_graph_from_the_database(host):
    g = build(load([host.pk]))
    nic = g.nodes[f"nic:{host.pk}:uuid-pxe1:{MAC}"]
    assert nic["ips"] == ["192.168.122.77"] and nic["label"] == "192.168.122.77"
    assert nic["href"] == f"/vms/{Domain.objects.get().pk}/"
    assert g.nodes[f"net:{host.pk}:default"]["href"] == f"/networks/{Network.objects.get().pk}/"
    fwd = g.edges[f"forward|net:{host.pk}:default|if:{host.pk}:eth0"]
    assert fwd["mode"] == "nat" and fwd["via"] == "default route"
    assert f"lan|lan:10.79.1.0/24|if:{host.pk}:eth0" in g.edges


def test_a_segment_name_survives_the_interface_rows_being_replaced(host):
    UplinkSegment.objects.create(host=host, interface="eth0", name="rack 4")
    HostInterface.objects.filter(host=host, name="eth0").delete()  # what a sync may do
    HostInterface.objects.create(host=host, name="eth0", kind="veth", up=True, carrier=True)
    g = build(load([host.pk]))
    assert f"lan|lan:name:rack 4|if:{host.pk}:eth0" in g.edges


def drain(layer, channel):
    """Every message waiting on a channel (one event loop for all receives)."""
    async def receive_all():
        out = []
        try:
            while True:
                out.append(await asyncio.wait_for(layer.receive(channel), 1))
        except asyncio.TimeoutError:
            return out
    return async_to_sync(receive_all)()


def test_a_read_model_change_publishes_a_delta_to_the_hosts_group(host):
    layer = get_channel_layer()
    channel = f"topology-test-{uuid.uuid4().hex}"
    async_to_sync(layer.group_add)(f"host.{host.pk}", channel)

    announce(host.pk, "sync")
    HostInterface.objects.filter(host=host, name="vnet0").update(up=False)
    announce(host.pk, "netlink")
    announce(host.pk, "sync")  # nothing changed: no new version, no event
    first, second = drain(layer, channel)
    async_to_sync(layer.group_discard)(f"host.{host.pk}", channel)

    assert first["type"] == "topology.delta" and first["base"] == 0
    assert f"host:{host.pk}" in {n["data"]["id"] for n in first["add_nodes"]}
    assert second["base"] == first["version"] and second["version"] == first["version"] + 1
    assert second["change"] == [{"id": f"if:{host.pk}:vnet0", "data": {"state": "down"}}]
    assert second["add_nodes"] == second["remove"] == []

    assert services.deltas_since(host.pk, first["version"])[0]["change"] == second["change"]
    assert services.deltas_since(host.pk, second["version"]) == []
    assert services.deltas_since(host.pk, 12345) is None  # not kept: fetch the part again
    _, versions = services.current([host.pk])
    assert versions == {host.pk: second["version"]}


def test_the_published_part_is_the_one_the_api_serves(host):
    graph_now, versions = services.current([host.pk])
    r = redis_client()
    stored = json.loads(r.hget(f"kvmweb:topology:host{host.pk}", "part"))
    assert stored == host_part(graph_now, host.pk)
    assert int(r.hget(f"kvmweb:topology:host{host.pk}", "version")) == versions[host.pk]

