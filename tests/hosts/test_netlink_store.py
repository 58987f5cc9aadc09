"""A netlink batch from the watcher's stream: only real changes are written, pushed to
``host.<pk>`` and announced to other apps (hosts.signals); counters alone change nothing."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from hosts import live, signals
from hosts.models import Host, HostInterface

pytestmark = pytest.mark.django_db(transaction=True)


def record(name, up=True, master="", addresses=(), rx=0):
    return {"index": 3, "name": name, "kind": "tun/tap", "state": "unknown" if up else "down",
            "up": up, "carrier": up, "mac": "fe:54:00:00:00:01", "mtu": 1500, "master": master,
            "parent": "", "addresses": list(addresses), "stats": {"rx_bytes": rx, "tx_bytes": 0}}


def test_a_batch_stores_and_pushes_only_what_changed():
    host = Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.0.0.1/system")
    HostInterface.objects.create(host=host, **record("vnet0", master="virbr0"))
    HostInterface.objects.create(host=host, **record("vnet9"))
    announced = []

    def receiver(sender, host_pk, reason, **kwargs):
        announced.append((host_pk, reason))

    signals.read_model_changed.connect(receiver)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"host.{host.pk}", channel)
    try:
        # Counters moved, nothing else: no write of state, no event, no announcement.
        live.store_batch(host.pk, {"t": 1.0, "events": [], "neighbours": [],
                                   "interfaces": [record("vnet0", master="virbr0", rx=500),
                                                  record("vnet9")]})
        assert announced == []
        # vnet0 set down and vnet9 gone.
        live.store_batch(host.pk, {"t": 2.0, "events": ["newlink vnet0 down"], "neighbours": [],
                                   "interfaces": [record("vnet0", up=False, master="virbr0")]})
        event = async_to_sync(layer.receive)(channel)
    finally:
        signals.read_model_changed.disconnect(receiver)
    row = HostInterface.objects.get(host=host, name="vnet0")
    assert not row.up and row.state == "down" and row.master == "virbr0"
    assert not HostInterface.objects.filter(host=host, name="vnet9").exists()
    assert event["type"] == "host.interfaces" and event["t"] == 2.0
    assert [i["name"] for i in event["interfaces"]] == ["vnet0"] and event["removed"] == ["vnet9"]
    assert event["interfaces"][0]["up"] is False
    assert announced == [(host.pk, "netlink")]
