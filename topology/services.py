"""Published versions of each host's part of the topology, and the deltas between them.

Each host's part (see :func:`topology.graph.host_part`) is kept in Redis with a version that only
grows. When the read model of a host changes (``hosts.signals.read_model_changed``), its part is
computed again from the database, compared with the last published one, and the delta is stored
and pushed to browsers following ``host.<pk>``. Browsers whose version is not the delta's base
fetch that host's part again (the API), so a missed event costs one fetch, never a wrong picture.
Nothing here talks to a host.

Each published part is also kept serialized as the API sends it (compact JSON, see
:func:`compact`), so ``GET /api/topology/`` joins the hosts' stored fragments instead of
building and encoding the graph (:func:`fragments`). A published part is trusted for
``KVMWEB_TOPOLOGY_RECHECK`` seconds after it was last compared with the database (every
announced change and every sync compares it); older ones, and hosts never published, are
built from the database first.
"""

import json
import logging
import time

from django.conf import settings

from kvmweb import events
from operations.locks import client as redis_client

from . import choices as C
from . import delta as deltas
from . import graph
from .readmodel import load

log = logging.getLogger(__name__)

LOG_KEEP = 50  # deltas kept per host for clients that were away for a moment
EMPTY = {"nodes": {}, "edges": {}}
ALWAYS = ("id", "kind", "label", "host", "source", "target")  # kept by compact() even if empty
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _key(host_pk):
    return f"kvmweb:topology:host{host_pk}"


def group_over():
    return getattr(settings, "KVMWEB_TOPOLOGY_GROUP_OVER", graph.GROUP_OVER)


def recheck_after():
    return getattr(settings, "KVMWEB_TOPOLOGY_RECHECK", 600)


def compact(data):
    """An element's data as /api/topology/ sends it: keys whose value is null, false, an empty
    string or an empty list are left out (``id``, ``kind``, ``label``, ``host``, ``source`` and
    ``target`` always stay). Deltas carry every key."""
    return {k: v for k, v in data.items()
            if k in ALWAYS or not (v is None or v is False or v == "" or v == [])}


def serialize(part):
    """A part as the API joins it: {"nodes": "<elements>", "edges": "<elements>", "lans":
    {id: element}} (JSON text of compact elements, comma-separated, without brackets; the LAN
    nodes apart, since hosts share them)."""
    nodes = [part["nodes"][i] for i in sorted(part["nodes"])]
    return {
        "nodes": _dumps([{"data": compact(d)} for d in nodes if d["kind"] != C.LAN])[1:-1],
        "edges": _dumps([{"data": compact(part["edges"][i])} for i in sorted(part["edges"])])[1:-1],
        "lans": {d["id"]: {"data": compact(d)} for d in nodes if d["kind"] == C.LAN},
    }


def _stored(part):
    """serialize(part) as kept in Redis (hash fields)."""
    frag = serialize(part)
    return {**frag, "lans": _dumps(frag["lans"])}


def publish(host_pk, part):
    """Store ``part`` as the host's current part if it differs from the last published one; push
    the delta. Returns the host's version (unchanged when the part is the same)."""
    r = redis_client()
    with r.lock(f"{_key(host_pk)}:lock", timeout=30, blocking_timeout=10):
        stored = r.hmget(_key(host_pk), "version", "part", "nodes")
        version = int(stored[0] or 0)
        old = json.loads(stored[1]) if stored[1] else None
        if old == part:  # compared with the database just now; fragments of older releases added
            r.hset(_key(host_pk), mapping={"checked": time.time(),
                                           **(_stored(part) if stored[2] is None else {})})
            return version
        delta = deltas.diff(old or EMPTY, part)
        # Starting from the clock keeps versions growing even if Redis lost the old ones.
        base, version = (version, version + 1) if old is not None else (0, int(time.time() * 1000))
        entry = {"version": version, "base": base, **delta}
        pipe = r.pipeline()
        pipe.hset(_key(host_pk), mapping={"version": version, "part": json.dumps(part),
                                          "checked": time.time(), **_stored(part)})
        pipe.rpush(f"{_key(host_pk)}:log", json.dumps(entry))
        pipe.ltrim(f"{_key(host_pk)}:log", -LOG_KEEP, -1)
        pipe.execute()
    events.topology_delta(host_pk, entry)
    return version


def refresh(host_pk):
    """Compute one host's part from the database and publish it."""
    part = graph.host_part(graph.build(load([host_pk]), group_over()), host_pk)
    return publish(host_pk, part)


def _build_and_publish(host_ids):
    """(the graph of these hosts from the database (one load), {host pk: published version})."""
    whole = graph.build(load(host_ids), group_over())
    return whole, {pk: publish(pk, graph.host_part(whole, pk)) for pk in sorted(host_ids)
                   if f"host:{pk}" in whole.nodes}


def refresh_many(host_ids):
    """Compute the parts of several hosts from the database (one load) and publish them."""
    return _build_and_publish(host_ids)[1]


# host pk -> (version, fragment): this process's copy of the fragments it last read
_fragments = {}


def fragments(host_ids):
    """{host pk: (version, fragment)} of the given hosts' published parts (see
    :func:`serialize`), each fragment exactly that version's part. Parts never published, or
    not compared with the database for ``recheck_after()`` seconds, are built first."""
    ids = sorted(set(host_ids))
    r = redis_client()
    pipe = r.pipeline(transaction=False)
    for pk in ids:
        pipe.hmget(_key(pk), "version", "checked")
    heads = dict(zip(ids, pipe.execute()))
    now, limit = time.time(), recheck_after()
    stale = [pk for pk, (v, checked) in heads.items()
             if v is None or checked is None or now - float(checked) > limit]
    if stale:
        refresh_many(stale)
    out, missing = {}, []
    for pk in ids:
        kept = _fragments.get(pk)
        if pk not in stale and kept is not None and kept[0] == int(heads[pk][0]):
            out[pk] = kept
        else:
            missing.append(pk)
    if missing:
        pipe = r.pipeline(transaction=False)
        for pk in missing:
            pipe.hmget(_key(pk), "version", "nodes", "edges", "lans")
        for pk, (v, nodes, edges, lans) in zip(missing, pipe.execute()):
            if v is None or nodes is None:
                continue  # no such host (any more)
            out[pk] = _fragments[pk] = (int(v), {"nodes": nodes.decode(), "edges": edges.decode(),
                                                  "lans": json.loads(lans)})
    return out


def graph_json(focus, host_fragments):
    """The body of GET /api/topology/ for ``focus`` (all or one host) from the hosts'
    fragments: what :func:`current` + ``as_elements`` give, compact, as bytes."""
    lans = {}
    for _, frag in host_fragments.values():
        lans.update(frag["lans"])
    versions = {str(pk): v for pk, (v, _) in sorted(host_fragments.items())}
    head = _dumps({"kind": focus.kind, "host": focus.host, "key": focus.key})
    nodes = [f["nodes"] for _, f in host_fragments.values() if f["nodes"]]
    nodes += [_dumps(lans[i]) for i in sorted(lans)]
    edges = [f["edges"] for _, f in host_fragments.values() if f["edges"]]
    return (f'{{"focus":{head},"versions":{_dumps(versions)},"nodes":[{",".join(nodes)}],'
            f'"edges":[{",".join(edges)}]}}').encode()


def current(host_ids, focus=graph.ALL, hidden=None):
    """(graph for the focus, {host pk: version}) for the given hosts, fresh from the database;
    the versions are those of exactly the parts returned (they are published first).
    ``hidden`` = (network pks, VM pks) the viewer may not see (topology.access.hidden_objects)."""
    host_ids = set(host_ids)
    if focus.host is not None:
        host_ids &= {focus.host}
    whole, versions = _build_and_publish(host_ids)
    if hidden:
        whole = graph.without(whole, *hidden)
    return graph.select(whole, focus), versions


def view_for(user, focus=graph.ALL):
    """(graph, versions) of what ``user`` may see for a focus: pages and the API share it."""
    from . import access

    host_ids = access.topology_hosts(user)
    return current(host_ids, focus, access.hidden_objects(user, host_ids))


def published_view(user, focus=graph.ALL):
    """{host pk: (version, fragment)} of what ``user`` may see for a focus on all hosts or one
    (None for a network or VM focus: build it). Hosts the user sees whole come from the kept
    fragments; hosts with a network or VM the user may not see are built for them."""
    from . import access

    if focus.kind not in ("all", "host"):
        return None
    host_ids = set(access.topology_hosts(user))
    if focus.host is not None:
        host_ids &= {focus.host}
    rows = access.hidden_rows(user, host_ids)
    partial = {host for _, host in rows[0] + rows[1]} if rows else set()
    found = fragments(host_ids - partial)
    if partial:
        g, versions = current(partial, graph.ALL, access.hidden_pks(rows))
        found.update({pk: (v, serialize(graph.host_part(g, pk))) for pk, v in versions.items()})
    return found


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


def on_host_saved(sender, instance, created=False, **kwargs):
    """A new host row starts with no published part (a primary key may be reused after a
    restore); a renamed or re-pointed host is published again once the change is committed."""
    if created:
        try:
            redis_client().delete(_key(instance.pk), f"{_key(instance.pk)}:log")
        except Exception:  # noqa: BLE001 - Redis down must not stop a host being added
            log.exception("could not forget the topology of host %s", instance.pk)
        return
    from django.db import transaction

    from hosts.signals import announce

    transaction.on_commit(lambda: announce(instance.pk, "host"))


def on_host_deleted(sender, instance, **kwargs):
    """A removed host's part becomes empty, so open pages drop its box."""
    try:
        publish(instance.pk, EMPTY)
    except Exception:  # noqa: BLE001 - Redis down must not stop a host being removed
        log.exception("could not publish the removal of host %s", instance.pk)
