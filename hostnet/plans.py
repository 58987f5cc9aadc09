"""Validation and plans for host network changes. Pure functions over interface records.

A record is what ``kvmweb.virt.hostnet.list_interfaces`` returns (and what HostInterface
stores): name, kind, mac, mtu, master, parent, up, addresses, stats (with ``routes``,
``stp``/``forward_delay`` for bridges, ``port_state`` for bridge ports, ``max_mtu``).

A plan is plain data: the steps (see ``kvmweb.virt.hostconfig.apply``), the interfaces whose
state is saved for rollback, the names it creates, the exact resulting state, and notes. Forms
and the API build one from the read model for the preview; the worker builds it again from
the host's live state just before applying it.
"""

import ipaddress

ACTIONS = {
    "bridge_create": "create bridge", "bridge_delete": "delete bridge",
    "vlan_create": "create VLAN interface", "bond_create": "create bond",
    "mtu": "set MTU", "link_state": "set up/down", "addresses": "change addresses",
    "port_move": "move port to another bridge",
}
BOND_MODES = ("balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad",
              "balance-tlb", "balance-alb")
MIN_TIMEOUT, MAX_TIMEOUT, DEFAULT_TIMEOUT = 5, 300, 10


class PlanError(Exception):
    """Refused before anything is sent. ``errors`` maps a field name to its message."""

    def __init__(self, errors):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def name_problem(name):
    """Why the kernel would refuse this interface name (None when it is fine)."""
    if not name:
        return "give a name"
    if len(name.encode()) > 15:
        return f"{name!r} is {len(name)} characters; the kernel allows at most 15"
    if name in (".", ".."):
        return "'.' and '..' are not interface names"
    bad = [c for c in name if c in "/:" or c.isspace()]
    if bad:
        return f"the kernel refuses {bad[0]!r} in interface names ('/', ':' and whitespace)"
    return None


def _by_name(ifaces):
    return {i["name"]: i for i in ifaces}


def management_interface(address, ifaces):
    """The interface carrying kvmweb's own path to the host: the one holding the URI's address,
    else the one with the default route."""
    for rec in ifaces:
        if any(a["address"] == address for a in rec.get("addresses", [])):
            return rec["name"]
    for rec in ifaces:
        if any(r["dst"] == "default" for r in (rec.get("stats") or {}).get("routes", [])):
            return rec["name"]
    return None


def _addresses(rec):
    """Addresses worth moving: everything but IPv6 link-local."""
    return [{"family": a["family"], "address": a["address"], "prefixlen": a["prefixlen"]}
            for a in rec.get("addresses", [])
            if not (a["family"] == "inet6" and a["address"].lower().startswith("fe80"))]


def _routes(rec):
    return list((rec.get("stats") or {}).get("routes", []))


def _state(rec, **changes):
    """A resulting-state record (what persistence writes and the preview shows)."""
    out = {"name": rec["name"], "kind": rec.get("kind", ""), "mtu": rec.get("mtu"),
           "mac": rec.get("mac", ""), "master": rec.get("master", ""),
           "up": rec.get("up", True), "addresses": _addresses(rec), "routes": _routes(rec)}
    out.update(changes)
    return out


def _int(params, key, low, high, errors, label, default=None):
    raw = params.get(key, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        errors[key] = f"{label} must be a whole number"
        return None
    if not low <= value <= high:
        errors[key] = f"{label} must be between {low} and {high} (got {value})"
        return None
    return value


def _move(src, dst, steps):
    """Steps that move addresses and routes from one interface to another."""
    for route in src["routes"]:
        steps.append({"op": "route_del", "dev": src["name"], **_route(route)})
    for addr in src["addresses"]:
        steps.append({"op": "addr_del", "name": src["name"], **addr})
    for addr in src["addresses"]:
        steps.append({"op": "addr_add", "name": dst, **addr})


def _route(route):
    return {"dst": route["dst"], "gateway": route.get("gateway", ""),
            "family": route.get("family", "inet"), "metric": route.get("metric", 0)}


def build(action, params, ifaces, mgmt_address="", force=False):
    """Validate ``params`` for ``action`` against ``ifaces``; return the plan or raise PlanError.

    ``force`` (the "I know what I am doing" flag) only lifts the rules that protect kvmweb's own
    management path; everything the kernel would refuse is still refused."""
    if action not in ACTIONS:
        raise PlanError({"action": f"unknown action {action!r}"})
    errors = {}
    timeout = _int(params, "timeout", MIN_TIMEOUT, MAX_TIMEOUT, errors, "the rollback timeout",
                   DEFAULT_TIMEOUT)
    by_name = _by_name(ifaces)
    mgmt = management_interface(mgmt_address, ifaces)
    plan = globals()[f"_plan_{action}"](params, by_name, mgmt, errors, force, timeout)
    if errors:
        raise PlanError(errors)
    plan.update({"action": action, "timeout": timeout, "management_interface": mgmt,
                 "persist": bool(params.get("persist", True)), "force": bool(force)})
    return plan


def _new_name(params, key, by_name, errors):
    name = (params.get(key) or "").strip()
    problem = name_problem(name)
    if problem:
        errors[key] = problem
    elif name in by_name:
        errors[key] = f"{name} already exists on this host; pick another name"
    return name


def _existing(params, key, by_name, errors, label="interface"):
    name = (params.get(key) or "").strip()
    if not name:
        errors[key] = f"choose the {label}"
    elif name not in by_name:
        errors[key] = f"there is no {label} {name!r} on this host (sync the host if it is new)"
    return by_name.get(name)


def _plan_bridge_create(params, by_name, mgmt, errors, force, timeout):
    name = _new_name(params, "name", by_name, errors)
    stp = bool(params.get("stp", False))
    fd = _int(params, "forward_delay", 0 if not stp else 2, 30, errors, "forward delay (s)",
              15 if stp else 0)
    uplink_name = (params.get("uplink") or "").strip()
    move = bool(params.get("move_addresses", True))
    gateway = (params.get("address") or "").strip()
    steps = [{"op": "link_add", "name": name, "kind": "bridge", "stp": stp,
              "forward_delay": fd or 0}]
    notes = []
    if not uplink_name:
        bridge = {"name": name, "kind": "bridge", "mtu": 1500, "mac": "", "master": "",
                  "up": True, "addresses": [], "routes": [], "stp": stp, "forward_delay": fd,
                  "ports": []}
        if gateway:
            try:
                iface = ipaddress.ip_interface(gateway)
            except ValueError:
                errors["address"] = f"{gateway!r} is not an address with prefix, e.g. 10.0.5.1/24"
            else:
                addr = {"family": "inet6" if iface.version == 6 else "inet",
                        "address": str(iface.ip), "prefixlen": iface.network.prefixlen}
                steps.append({"op": "addr_add", "name": name, **addr})
                bridge["addresses"] = [addr]
        steps.append({"op": "link_set", "name": name, "up": True})
        notes.append("isolated bridge: no uplink, guests on it reach each other"
                     + (f" and the host at {gateway}" if gateway else " only"))
        return {"summary": f"create isolated bridge {name}", "steps": steps,
                "involved": [name], "created": [name], "result": [bridge], "notes": notes}
    uplink = _existing(params, "uplink", by_name, errors, "uplink")
    if uplink is None:
        return {}
    if uplink.get("master"):
        errors["uplink"] = f"{uplink_name} is already a port of {uplink['master']}"
    if uplink.get("kind") in ("bridge", "loopback"):
        errors["uplink"] = f"{uplink_name} is a {uplink['kind']}; choose a NIC, bond or VLAN"
    if uplink_name == mgmt and not move and not force:
        errors["move_addresses"] = (
            f"{uplink_name} carries kvmweb's management address: enslaving it without moving "
            "its addresses to the bridge cuts this host off; keep 'move addresses' checked")
    if uplink_name == mgmt and stp and timeout is not None and fd and timeout <= 2 * fd + 3 \
            and not force:
        errors["timeout"] = (f"with STP on, {uplink_name} forwards nothing for 2 x {fd} s after "
                             f"joining the bridge; set the timeout above {2 * fd + 3} s or turn "
                             "STP off")
    src = _state(uplink)
    bridge = {"name": name, "kind": "bridge", "mtu": uplink.get("mtu"), "mac": uplink.get("mac"),
              "master": "", "up": True, "stp": stp, "forward_delay": fd, "ports": [uplink_name],
              "addresses": src["addresses"] if move else [],
              "routes": src["routes"] if move else []}
    steps.append({"op": "link_set", "name": name, "address": uplink.get("mac"),
                  "mtu": uplink.get("mtu")})
    steps.append({"op": "link_set", "name": uplink_name, "master": name})
    if move:
        _move(src, name, steps)
    steps.append({"op": "link_set", "name": name, "up": True})
    if move:
        steps += [{"op": "route_add", "dev": name, **_route(r)} for r in src["routes"]]
        notes.append(f"{len(src['addresses'])} address(es) and {len(src['routes'])} route(s) "
                     f"move from {uplink_name} to {name}; {name} keeps {uplink_name}'s MAC "
                     f"{uplink.get('mac')} so DHCP reservations and ARP caches stay valid")
    port = _state(uplink, master=name, addresses=[] if move else src["addresses"],
                  routes=[] if move else src["routes"])
    return {"summary": f"create bridge {name} over {uplink_name}", "steps": steps,
            "involved": [uplink_name, name], "created": [name], "result": [bridge, port],
            "notes": notes}


def _plan_bridge_delete(params, by_name, mgmt, errors, force, timeout):
    bridge = _existing(params, "name", by_name, errors, "bridge")
    if bridge is None:
        return {}
    name = bridge["name"]
    if bridge.get("kind") != "bridge":
        errors["name"] = f"{name} is a {bridge.get('kind')}, not a bridge"
        return {}
    ports = sorted(r["name"] for r in by_name.values() if r.get("master") == name)
    uplink_name = (params.get("uplink") or "").strip()
    give_back = bool(params.get("give_back", True))
    src = _state(bridge)
    if uplink_name and uplink_name not in ports:
        errors["uplink"] = f"{uplink_name} is not a port of {name} (ports: {', '.join(ports) or 'none'})"
    if not uplink_name and give_back and src["addresses"]:
        physical = [p for p in ports if by_name[p].get("kind") not in ("tun/tap", "macvtap")]
        if len(physical) == 1:
            uplink_name = physical[0]
        elif not (name == mgmt and force):
            errors["uplink"] = f"choose which port of {name} gets its addresses back"
    if name == mgmt and not (give_back and uplink_name) and not force:
        errors["give_back"] = (f"{name} carries kvmweb's management address: deleting it without "
                               "giving its addresses to the uplink cuts this host off")
    steps, result, notes = [], [], []
    vms = [p for p in ports if by_name[p].get("kind") in ("tun/tap", "macvtap")]
    if vms:
        notes.append(f"VM ports {', '.join(vms)} lose their bridge; their guests go offline")
    for route in src["routes"]:
        steps.append({"op": "route_del", "dev": name, **_route(route)})
    for port in ports:
        steps.append({"op": "link_set", "name": port, "master": ""})
    if uplink_name and give_back:
        for addr in src["addresses"]:
            steps.append({"op": "addr_del", "name": name, **addr})
        for addr in src["addresses"]:
            steps.append({"op": "addr_add", "name": uplink_name, **addr})
        steps.append({"op": "link_set", "name": uplink_name, "up": True})
        steps += [{"op": "route_add", "dev": uplink_name, **_route(r)} for r in src["routes"]]
        notes.append(f"addresses and routes of {name} go back to {uplink_name}")
    steps.append({"op": "link_del", "name": name})
    for port in ports:
        back = uplink_name == port and give_back
        result.append(_state(by_name[port], master="",
                             addresses=src["addresses"] if back else _addresses(by_name[port]),
                             routes=src["routes"] if back else _routes(by_name[port])))
    return {"summary": f"delete bridge {name}", "steps": steps, "involved": [name, *ports],
            "created": [], "result": result, "removed": [name], "notes": notes}


def _plan_vlan_create(params, by_name, mgmt, errors, force, timeout):
    parent = _existing(params, "parent", by_name, errors, "parent interface")
    vid = _int(params, "vlan_id", 1, 4094, errors, "VLAN id")
    if parent is None or vid is None:
        return {}
    if not params.get("name"):
        params = {**params, "name": f"{parent['name']}.{vid}"}
    name = _new_name(params, "name", by_name, errors)
    rec = {"name": name, "kind": "vlan", "mtu": parent.get("mtu"), "mac": parent.get("mac"),
           "master": "", "up": True, "addresses": [], "routes": [], "parent": parent["name"],
           "vlan_id": vid}
    steps = [{"op": "link_add", "name": name, "kind": "vlan", "parent": parent["name"],
              "vlan_id": vid}, {"op": "link_set", "name": name, "up": True}]
    return {"summary": f"create VLAN {vid} on {parent['name']} as {name}", "steps": steps,
            "involved": [parent["name"], name], "created": [name], "result": [rec],
            "notes": [f"tagged frames with VLAN id {vid} on {parent['name']} go to {name}"]}


def _plan_bond_create(params, by_name, mgmt, errors, force, timeout):
    name = _new_name(params, "name", by_name, errors)
    mode = params.get("mode") or "active-backup"
    if mode not in BOND_MODES:
        errors["mode"] = f"unknown bond mode {mode!r}; choose one of {', '.join(BOND_MODES)}"
    members = params.get("members") or []
    if isinstance(members, str):
        members = [m.strip() for m in members.replace(",", " ").split() if m.strip()]
    if not members:
        errors["members"] = "choose at least one member interface"
    for member in members:
        rec = by_name.get(member)
        if rec is None:
            errors["members"] = f"there is no interface {member!r} on this host"
        elif rec.get("master"):
            errors["members"] = f"{member} is already enslaved to {rec['master']}"
        elif member == mgmt and not force:
            errors["members"] = (f"{member} carries kvmweb's management address; a bond member "
                                 "loses its addresses and this host would be cut off")
        elif rec.get("kind") in ("bridge", "bond", "loopback"):
            errors["members"] = f"{member} is a {rec['kind']}; bond members are NICs"
    if errors:
        return {}
    steps = [{"op": "link_add", "name": name, "kind": "bond", "mode": mode}]
    for member in members:
        steps += [{"op": "link_set", "name": member, "up": False},
                  {"op": "link_set", "name": member, "master": name},
                  {"op": "link_set", "name": member, "up": True}]
    steps.append({"op": "link_set", "name": name, "up": True})
    bond = {"name": name, "kind": "bond", "mtu": by_name[members[0]].get("mtu"), "mac": "",
            "master": "", "up": True, "addresses": [], "routes": [], "mode": mode,
            "slaves": members}
    result = [bond] + [_state(by_name[m], master=name, addresses=[], routes=[]) for m in members]
    return {"summary": f"create bond {name} ({mode}) of {', '.join(members)}", "steps": steps,
            "involved": [*members, name], "created": [name], "result": result, "notes": []}


def _plan_mtu(params, by_name, mgmt, errors, force, timeout):
    rec = _existing(params, "name", by_name, errors)
    maximum = ((rec or {}).get("stats") or {}).get("max_mtu") or 65535
    mtu = _int(params, "mtu", 68, min(65535, maximum), errors, "MTU")
    if rec is None or mtu is None:
        return {}
    return {"summary": f"set MTU of {rec['name']} to {mtu}", "involved": [rec["name"]],
            "steps": [{"op": "link_set", "name": rec["name"], "mtu": mtu}], "created": [],
            "result": [_state(rec, mtu=mtu)],
            "notes": [f"was {rec.get('mtu')}; every host on the segment needs the same MTU"]}


def _plan_link_state(params, by_name, mgmt, errors, force, timeout):
    rec = _existing(params, "name", by_name, errors)
    up = params.get("up") in (True, "true", "up", "1", 1, "on")
    if rec is None:
        return {}
    if rec["name"] == mgmt and not up and not force:
        errors["up"] = f"{rec['name']} carries kvmweb's management address; taking it down cuts this host off"
    return {"summary": f"set {rec['name']} {'up' if up else 'down'}", "involved": [rec["name"]],
            "steps": [{"op": "link_set", "name": rec["name"], "up": up}], "created": [],
            "result": [_state(rec, up=up)], "notes": []}


def _parse_addresses(raw, key, errors):
    if isinstance(raw, str):
        raw = raw.replace(",", " ").split()
    out = []
    for item in raw or []:
        try:
            iface = ipaddress.ip_interface(item)
        except ValueError:
            errors[key] = f"{item!r} is not an address with prefix, e.g. 192.0.2.5/24"
            continue
        out.append({"family": "inet6" if iface.version == 6 else "inet",
                    "address": str(iface.ip), "prefixlen": iface.network.prefixlen})
    return out


def _plan_addresses(params, by_name, mgmt, errors, force, timeout):
    rec = _existing(params, "name", by_name, errors)
    add = _parse_addresses(params.get("add"), "add", errors)
    remove = _parse_addresses(params.get("remove"), "remove", errors)
    if rec is None:
        return {}
    have = {(a["address"], a["prefixlen"]) for a in _addresses(rec)}
    for addr in remove:
        if (addr["address"], addr["prefixlen"]) not in have:
            errors["remove"] = f"{rec['name']} has no address {addr['address']}/{addr['prefixlen']}"
        elif rec["name"] == mgmt and not force and any(
                r.get("gateway") for r in _routes(rec)) and len(have) == 1:
            errors["remove"] = f"{addr['address']} is kvmweb's management address on this host"
    for addr in add:
        if (addr["address"], addr["prefixlen"]) in have:
            errors["add"] = f"{rec['name']} already has {addr['address']}/{addr['prefixlen']}"
    if not add and not remove:
        errors["add"] = "give addresses to add or remove"
    gone = {(a["address"], a["prefixlen"]) for a in remove}
    final = [a for a in _addresses(rec) if (a["address"], a["prefixlen"]) not in gone] + add
    steps = [{"op": "addr_del", "name": rec["name"], **a} for a in remove]
    steps += [{"op": "addr_add", "name": rec["name"], **a} for a in add]
    return {"summary": f"change addresses of {rec['name']}", "involved": [rec["name"]],
            "steps": steps, "created": [], "result": [_state(rec, addresses=final)], "notes": []}


def _plan_port_move(params, by_name, mgmt, errors, force, timeout):
    port = _existing(params, "port", by_name, errors, "port")
    target = (params.get("bridge") or "").strip()
    if not target:
        errors["bridge"] = "choose the bridge to move the port to"
    elif target not in by_name or by_name[target].get("kind") != "bridge":
        errors["bridge"] = f"there is no bridge {target!r} on this host; create it first"
    if port is None or errors:
        return {}
    old = port.get("master", "")
    if not old:
        errors["port"] = f"{port['name']} is not a port of any bridge"
    elif old == target:
        errors["bridge"] = f"{port['name']} is already a port of {target}"
    elif port["name"] == mgmt and not force:
        errors["port"] = f"{port['name']} carries kvmweb's management path"
    return {"summary": f"move {port['name']} from {old} to {target}",
            "involved": [port["name"], old, target], "created": [],
            "steps": [{"op": "link_set", "name": port["name"], "master": target}],
            "result": [_state(port, master=target)], "notes": [], "old_bridge": old}
