"""The one module that sends live events to browsers (through the Channels layer).

Groups: ``host.<pk>`` (one host's status, inventory, interface state, operations and
topology deltas; the hosts list follows one
per host it shows, so nobody receives hosts they may not see), ``rates.<pk>`` (one host's
per-second interface rates; following it is what makes the watcher sample the host),
``operation.<pk>`` (one operation's progress and log). Who may follow what:
kvmweb.consumers.FOLLOW_RULES.
"""

import logging
import re
from typing import TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)
_GROUP = re.compile(r"[A-Za-z0-9._-]{1,99}")


class HostStatusEvent(TypedDict):
    type: str  # "host.status"
    host: int
    status: str
    status_display: str
    reason: str
    last_seen: str


class HostInventoryEvent(TypedDict):
    type: str  # "host.inventory"
    host: int
    networks: int
    domains: int
    running: int


class HostInterfacesEvent(TypedDict):
    type: str  # "host.interfaces"
    host: int
    t: float  # epoch seconds when the host reported the change
    events: list  # what netlink said, e.g. "newlink vnet0 down"
    interfaces: list  # the changed interfaces: name, kind, state, up, carrier, master, addresses
    removed: list  # names of interfaces that are gone


class HostRatesEvent(TypedDict):
    type: str  # "host.rates"
    host: int
    t: float
    rates: dict  # {ifname: [rx_bytes_per_s, tx_bytes_per_s]}


class OperationEvent(TypedDict):
    type: str  # "operation.update"
    operation: int
    host: int | None
    action: str
    target: str
    status: str
    status_display: str
    progress: int
    log: str
    error: str


class TopologyDeltaEvent(TypedDict):
    type: str  # "topology.delta"
    host: int
    version: int
    base: int  # the version this applies to; a browser at another version fetches the part again
    add_nodes: list  # [{"data": {...}}] Cytoscape elements (see topology.graph)
    add_edges: list
    remove: list  # element ids
    change: list  # [{"id": ..., "data": {changed keys}}]


def group_name(kind, pk=None):
    name = kind if pk is None else f"{kind}.{pk}"
    if not _GROUP.fullmatch(name):
        raise ValueError(f"bad group name {name!r}")
    return name


def send(groups, event):
    """Send one event to groups; never fails the caller (a browser missing one update is fine)."""
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        try:
            async_to_sync(layer.group_send)(group, dict(event))
        except Exception:  # noqa: BLE001 - Redis down must not fail a host change
            log.warning("could not push %s to %s", event.get("type"), group, exc_info=True)


def host_status_event(host):
    return HostStatusEvent(
        type="host.status", host=host.pk, status=host.status,
        status_display=host.get_status_display(), reason=host.status_reason,
        last_seen=host.last_seen.isoformat() if host.last_seen else "",
    )


def host_status(host):
    send([group_name("host", host.pk)], host_status_event(host))


def host_inventory(host):
    counts = host.counts()
    event = HostInventoryEvent(type="host.inventory", host=host.pk, **counts)
    send([group_name("host", host.pk)], event)


def topology_delta(host_pk, delta):
    """A host's part of the topology changed (topology.services publishes it)."""
    event = TopologyDeltaEvent(type="topology.delta", host=host_pk, version=delta["version"],
                               base=delta["base"], add_nodes=delta["add_nodes"],
                               add_edges=delta["add_edges"], remove=delta["remove"],
                               change=delta["change"])
    send([group_name("host", host_pk)], event)


def host_interfaces(host_pk, t, lines, changed, removed):
    event = HostInterfacesEvent(
        type="host.interfaces", host=host_pk, t=t, events=lines[:50], removed=removed,
        interfaces=[{"name": i.name, "kind": i.kind, "state": i.state, "up": i.up,
                     "carrier": i.carrier, "master": i.master, "addresses": i.address_list}
                    for i in changed],
    )
    send([group_name("host", host_pk)], event)


def host_rates(host_pk, t, rates):
    """One compact message per host per second; only followers of ``rates.<pk>`` get it."""
    send([group_name("rates", host_pk)], HostRatesEvent(type="host.rates", host=host_pk, t=t,
                                                        rates=rates))


def operation_event(op):
    return OperationEvent(
        type="operation.update", operation=op.pk, host=op.host_id, action=op.action,
        target=op.target, status=op.status, status_display=op.get_status_display(),
        progress=op.progress, log=op.log[-20000:], error=op.error,
    )


def snapshot(group):
    """The current state behind a group, sent to a browser right after it starts following:
    whatever changed between rendering the page and subscribing is not lost."""
    from hosts.models import Host
    from operations.models import Operation

    kind, _, pk = group.partition(".")
    if kind == "host":
        host = Host.objects.filter(pk=pk).first()
        if host is None:
            return []
        recent = Operation.objects.filter(host=host)[:5]
        events = [host_status_event(host)] + [operation_event(op) for op in recent]
    elif kind == "operation":
        events = [operation_event(op) for op in Operation.objects.filter(pk=pk)]
    else:
        events = []
    return [{**event, "snapshot": True} for event in events]


def operation_update(op):
    event = operation_event(op)
    groups = [group_name("operation", op.pk)]
    if op.host_id:
        groups.append(group_name("host", op.host_id))
    send(groups, event)
