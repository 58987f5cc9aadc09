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


def test_the_host_side_reads_every_waiting_netlink_message():
    """The listener parses rtnetlink headers itself (pyroute2 buffered messages out of select's
    sight); two messages in one datagram and one in the next are all read, then nothing."""
    import socket
    import struct

    from kvmweb.virt import netlink_remote

    def message(kind, index):
        body = struct.pack("=BxHiII", 0, 0, index, 0, 0)  # ifinfomsg / same offset for the others
        return struct.pack("=IHHII", 16 + len(body), kind, 0, 0, 0) + body

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        theirs.send(message(16, 3) + message(21, 3))
        theirs.send(message(28, 5))
        events = netlink_remote._read_events(ours)
    finally:
        ours.close()
        theirs.close()
    assert events == [("newlink", 3), ("deladdr", 3), ("newneigh", 5)]
    interfaces = [{"index": 3, "name": "vnet0", "state": "down"}]
    assert netlink_remote._summaries(events, interfaces) == ["newlink vnet0 down", "deladdr on vnet0"]
