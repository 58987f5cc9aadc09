"""Published versions of each host's part of the topology, and the deltas between them.

Each host's part (see :func:`topology.graph.host_part`) is kept in Redis with a version that only
grows. When the read model of a host changes (``hosts.signals.read_model_changed``), its part is
computed again from the database, compared with the last published one, and the delta is stored
and pushed to browsers following ``host.<pk>``. Browsers whose version is not the delta's base
fetch that host's part again (the API), so a missed event costs one fetch, never a wrong picture.
Nothing here talks to a host.
"""

import json
import logging
import time

from django.conf import settings

from kvmweb import events
from operations.locks import client as redis_client

from . import delta as deltas
from . import graph
from .readmodel import load

log = logging.getLogger(__name__)

LOG_KEEP = 50  # deltas kept per host for clients that were away for a moment
EMPTY = {"nodes": {}, "edges": {}}


def _key(host_pk):
    return f"kvmweb:topology:host{host_pk}"


def group_over():
    return getattr(settings, "KVMWEB_TOPOLOGY_GROUP_OVER", graph.GROUP_OVER)


def publish(host_pk, part):
    """Store ``part`` as the host's current part if it differs from the last published one; push
    the delta. Returns the host's version (unchanged when the part is the same)."""
    r = redis_client()
    with r.lock(f"{_key(host_pk)}:lock", timeout=30, blocking_timeout=10):
        stored = r.hmget(_key(host_pk), "version", "part")
        version = int(stored[0] or 0)
        old = json.loads(stored[1]) if stored[1] else None
        if old == part:
            return version
        delta = deltas.diff(old or EMPTY, part)
        # Starting from the clock keeps versions growing even if Redis lost the old ones.
        base, version = (version, version + 1) if old is not None else (0, int(time.time() * 1000))
        entry = {"version": version, "base": base, **delta}
        pipe = r.pipeline()
        pipe.hset(_key(host_pk), mapping={"version": version, "part": json.dumps(part)})
        pipe.rpush(f"{_key(host_pk)}:log", json.dumps(entry))
        pipe.ltrim(f"{_key(host_pk)}:log", -LOG_KEEP, -1)
        pipe.execute()
    events.topology_delta(host_pk, entry)
    return version


def refresh(host_pk):
    """Compute one host's part from the database and publish it."""
    part = graph.host_part(graph.build(load([host_pk]), group_over()), host_pk)
    return publish(host_pk, part)


def current(host_ids, focus=graph.ALL, hidden=None):
    """(graph for the focus, {host pk: version}) for the given hosts, fresh from the database;
    the versions are those of exactly the parts returned (they are published first).
    ``hidden`` = (network pks, VM pks) the viewer may not see (topology.access.hidden_objects)."""
    host_ids = set(host_ids)
    if focus.host is not None:
        host_ids &= {focus.host}
    whole = graph.build(load(host_ids), group_over())
    versions = {pk: publish(pk, graph.host_part(whole, pk)) for pk in sorted(host_ids)
                if f"host:{pk}" in whole.nodes}
    if hidden:
        whole = graph.without(whole, *hidden)
    return graph.select(whole, focus), versions


def view_for(user, focus=graph.ALL):
    """(graph, versions) of what ``user`` may see for a focus: pages and the API share it."""
    from . import access

    host_ids = access.topology_hosts(user)
    return current(host_ids, focus, access.hidden_objects(user, host_ids))


def deltas_since(host_pk, version):
    """The deltas after ``version`` in order, or None when they are no longer all kept (fetch the
    part again)."""
    r = redis_client()
    current_version = int(r.hget(_key(host_pk), "version") or 0)
    if version == current_version:
        return []
    entries = [json.loads(e) for e in r.lrange(f"{_key(host_pk)}:log", 0, -1)]
    after = [e for e in entries if e["version"] > version]
    if not after or after[0]["base"] != version:
        return None
    return after


def on_read_model_changed(sender, host_pk, reason="", **kwargs):
    """Receiver of hosts.signals.read_model_changed (quick: a few queries and one Redis write)."""
    try:
        refresh(host_pk)
    except Exception:  # noqa: BLE001 - the sender must not fail; pages refetch on the next one
        log.exception("could not publish the topology of host %s (%s)", host_pk, reason)


def on_segment_changed(sender, instance, **kwargs):
    from hosts.signals import announce

    announce(instance.host_id, "segment")


def on_host_deleted(sender, instance, **kwargs):
    """A removed host's part becomes empty, so open pages drop its box."""
    try:
        publish(instance.pk, EMPTY)
    except Exception:  # noqa: BLE001 - Redis down must not stop a host being removed
        log.exception("could not publish the removal of host %s", instance.pk)
