"""Deltas between two versions of a graph part, so browsers get small patches, not the graph.

A part is {"nodes": {id: data}, "edges": {id: data}} (see :func:`topology.graph.host_part`).
A delta is::

    {"add_nodes": [{"data": ...}], "add_edges": [{"data": ...}], "remove": [ids],
     "change": [{"id": id, "data": {key: new value, ...}}]}

``change`` carries only the keys whose value changed. Every element of a kind carries the same
keys (see :mod:`topology.graph`), so a key never disappears; if one did, it comes as None.
An edge's ends are part of its id, so a re-wired edge is a remove plus an add, never a change.
Nodes are added before edges and removed after them, as Cytoscape needs.
"""


def diff(old, new):
    """The delta that turns part ``old`` into part ``new``."""
    delta = {"add_nodes": [], "add_edges": [], "remove": [], "change": []}
    for group, added in (("nodes", "add_nodes"), ("edges", "add_edges")):
        before, after = old.get(group, {}), new.get(group, {})
        for id in sorted(after):
            data = after[id]
            was = before.get(id)
            if was is None:
                delta[added].append({"data": data})
            elif was != data:
                changed = {k: v for k, v in data.items() if was.get(k) != v}
                changed.update({k: None for k in was if k not in data})
                delta["change"].append({"id": id, "data": changed})
    # Edges first: a browser removing a node would drop its edges anyway.
    delta["remove"] = ([id for id in sorted(old.get("edges", {})) if id not in new.get("edges", {})]
                       + [id for id in sorted(old.get("nodes", {}))
                          if id not in new.get("nodes", {})])
    return delta


def is_empty(delta):
    return not any(delta[k] for k in ("add_nodes", "add_edges", "remove", "change"))


def size(delta):
    """How many elements a delta touches."""
    return sum(len(delta[k]) for k in ("add_nodes", "add_edges", "remove", "change"))


def apply(part, delta):
    """A new part: ``part`` with ``delta`` applied (what a browser does, for tests and tools)."""
    nodes, edges = dict(part.get("nodes", {})), dict(part.get("edges", {}))
    for id in delta["remove"]:
        nodes.pop(id, None)
        edges.pop(id, None)
    for item in delta["add_nodes"]:
        nodes[item["data"]["id"]] = item["data"]
    for item in delta["add_edges"]:
        edges[item["data"]["id"]] = item["data"]
    for item in delta["change"]:
        target = nodes if item["id"] in nodes else edges
        if item["id"] in target:
            target[item["id"]] = {**target[item["id"]], **item["data"]}
    return {"nodes": nodes, "edges": edges}
