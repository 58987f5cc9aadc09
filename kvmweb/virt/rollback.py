"""The self-restoring watchdog that runs ON a host while a network change is on trial.

Stdlib only, and standalone: kvmweb writes this file onto the host and starts it as
``python3 kvmweb_rollback.py STATE.json`` (detached: double fork + setsid), so it needs nothing
from kvmweb, the SSH connection or the worker once it runs. It only uses the ``ip`` command with
argument lists.

STATE.json (written by :func:`snapshot` + the caller) holds the saved state of the interfaces a
change touches, the routes through them, the names the change will create, and a deadline
(epoch seconds). The file is the "armed" flag:

* kvmweb proves the management path, then disarms by renaming STATE.json to ``*.disarmed``;
* at the deadline the watchdog renames it to ``*.restoring`` and restores the saved state.

Whoever renames first wins (rename is atomic), so a late disarm can not race a restore: the
loser learns it lost. The outcome is written to ``*.result.json``.
"""

import json
import os
import shutil
import subprocess
import sys
import time

IP = shutil.which("ip") or "/usr/sbin/ip"


def _ip(*args, check=False):
    proc = subprocess.run([IP, *[str(a) for a in args]], capture_output=True, text=True,
                          timeout=20, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(map(str, args))}: {proc.stderr.strip()}")
    return proc


def _json(*args):
    proc = _ip("-j", *args)
    if proc.returncode != 0 or not proc.stdout.strip():
        return []
    return json.loads(proc.stdout)


# ------------------------------------------------------------------ reading state

def _link_record(link, addrs):
    info = link.get("linkinfo") or {}
    data = info.get("info_data") or {}
    kind = info.get("info_kind") or ""
    rec = {
        "name": link["ifname"], "exists": True, "kind": kind, "mtu": link.get("mtu"),
        "mac": link.get("address", ""), "up": "UP" in link.get("flags", []),
        "master": link.get("master", ""), "parent": link.get("link", "") or "",
        "addresses": [
            {"family": a["family"], "address": a["local"], "prefixlen": a["prefixlen"]}
            for a in addrs.get(link["ifname"], [])
            if not (a["family"] == "inet6" and a.get("scope") == "link")
        ],
    }
    if kind == "bridge":
        rec["stp"] = int(data.get("stp_state", 0))
        rec["forward_delay"] = int(data.get("forward_delay", 1500))
    elif kind == "vlan":
        rec["vlan_id"] = int(data.get("id", 0))
    elif kind == "bond":
        rec["bond_mode"] = data.get("mode", "balance-rr")
    return rec


def _routes(names):
    routes = []
    for family in ("-4", "-6"):
        for r in _json(family, "route", "show", "table", "main"):
            if r.get("dev") not in names or r.get("protocol") == "kernel":
                continue
            if r.get("type", "unicast") != "unicast" or r["dst"].startswith(("fe80", "ff")):
                continue
            routes.append({"family": "inet" if family == "-4" else "inet6", "dst": r["dst"],
                           "gateway": r.get("gateway", ""), "dev": r["dev"],
                           "metric": r.get("metric", 0), "protocol": r.get("protocol", "")})
    return routes


def snapshot(names):
    """The state of the named interfaces (missing ones marked) and the routes through them."""
    links = {link["ifname"]: link for link in _json("-d", "link", "show")}
    addrs = {}
    for entry in _json("addr", "show"):
        addrs[entry["ifname"]] = entry.get("addr_info", [])
    interfaces = []
    for name in names:
        if name in links:
            interfaces.append(_link_record(links[name], addrs))
        else:
            interfaces.append({"name": name, "exists": False})
    return {"interfaces": interfaces, "routes": _routes(set(names))}


# ------------------------------------------------------------------ restoring

def _route_args(route):
    args = ["-6" if route["family"] == "inet6" else "-4", "route", "replace", route["dst"]]
    if route.get("gateway"):
        args += ["via", route["gateway"]]
    args += ["dev", route["dev"]]
    if route.get("metric"):
        args += ["metric", route["metric"]]
    if route.get("protocol") and route["protocol"] not in ("boot", "kernel"):
        args += ["proto", route["protocol"]]
    return args


def restore(state, log):
    """Put the saved state back: remove what the change created, re-create what it removed,
    then masters, MTU, MAC, addresses, up/down and routes. Best effort; logs every step."""
    saved = {i["name"]: i for i in state["interfaces"]}

    def step(*args):
        proc = _ip(*args)
        log.append({"ip": list(map(str, args)), "rc": proc.returncode,
                    "err": proc.stderr.strip()[:300]})

    now = {link["ifname"]: link for link in _json("-d", "link", "show")}
    for name in state.get("created", []):
        if name in now and not saved.get(name, {}).get("exists"):
            step("link", "del", name)
    # Missing devices, bridges and bonds before VLANs that may sit on them.
    order = sorted(saved.values(), key=lambda i: i.get("kind") == "vlan")
    for rec in order:
        if not rec.get("exists") or rec["name"] in now:
            continue
        kind = rec.get("kind")
        if kind == "bridge":
            step("link", "add", rec["name"], "type", "bridge", "stp_state", rec.get("stp", 0),
                 "forward_delay", rec.get("forward_delay", 1500))
        elif kind == "bond":
            step("link", "add", rec["name"], "type", "bond", "mode", rec.get("bond_mode"))
        elif kind == "vlan" and rec.get("parent"):
            step("link", "add", "link", rec["parent"], "name", rec["name"], "type", "vlan",
                 "id", rec["vlan_id"])
    now = {link["ifname"]: link for link in _json("-d", "link", "show")}
    for rec in saved.values():
        if not rec.get("exists") or rec["name"] not in now:
            continue
        cur = now[rec["name"]]
        if cur.get("master", "") != rec.get("master", ""):
            if rec.get("master"):
                step("link", "set", rec["name"], "master", rec["master"])
            else:
                step("link", "set", rec["name"], "nomaster")
        if rec.get("mtu") and cur.get("mtu") != rec["mtu"]:
            step("link", "set", rec["name"], "mtu", rec["mtu"])
        if rec.get("mac") and cur.get("address") != rec["mac"] and rec.get("kind") != "vlan":
            step("link", "set", rec["name"], "address", rec["mac"])
    current = {e["ifname"]: e.get("addr_info", []) for e in _json("addr", "show")}
    for rec in saved.values():
        if not rec.get("exists"):
            continue
        want = {(a["address"], a["prefixlen"]) for a in rec["addresses"]}
        have = {(a["local"], a["prefixlen"]) for a in current.get(rec["name"], [])
                if not (a["family"] == "inet6" and a.get("scope") == "link")}
        for address, plen in have - want:
            step("addr", "del", f"{address}/{plen}", "dev", rec["name"])
        for address, plen in want - have:
            step("addr", "add", f"{address}/{plen}", "dev", rec["name"])
    for rec in saved.values():
        if rec.get("exists"):
            step("link", "set", rec["name"], "up" if rec["up"] else "down")
    keep = {(r["dst"], r.get("gateway", ""), r["dev"]) for r in state["routes"]}
    for r in _routes(set(saved)):
        if (r["dst"], r.get("gateway", ""), r["dev"]) not in keep:
            step("-6" if r["family"] == "inet6" else "-4", "route", "del", r["dst"], "dev", r["dev"])
    for route in state["routes"]:
        step(*_route_args(route))


def differences(state):
    """What differs between the saved state and now (empty list: restored)."""
    names = [i["name"] for i in state["interfaces"]] + list(state.get("created", []))
    now = snapshot(names)
    found = []
    saved = {i["name"]: i for i in state["interfaces"]}
    for rec in now["interfaces"]:
        want = saved.get(rec["name"], {"exists": False})
        if bool(rec.get("exists")) != bool(want.get("exists")):
            found.append(f"{rec['name']}: exists={rec.get('exists')} (saved {want.get('exists')})")
            continue
        if not want.get("exists"):
            continue
        for key in ("master", "mtu", "up"):
            if rec.get(key) != want.get(key):
                found.append(f"{rec['name']}: {key}={rec.get(key)!r} (saved {want.get(key)!r})")
        got = sorted((a["address"], a["prefixlen"]) for a in rec["addresses"])
        exp = sorted((a["address"], a["prefixlen"]) for a in want["addresses"])
        if got != exp:
            found.append(f"{rec['name']}: addresses {got} (saved {exp})")
    key = lambda r: (r["dst"], r.get("gateway", ""), r["dev"])  # noqa: E731
    missing = {key(r) for r in state["routes"]} - {key(r) for r in now["routes"]}
    found += [f"route {dst} via {gw or '-'} dev {dev} missing" for dst, gw, dev in sorted(missing)]
    return found


# ------------------------------------------------------------------ the watchdog

def _daemonize():
    """Double fork + setsid: survive the SSH session and the process that started us."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


def watch(path):
    with open(path) as fh:
        state = json.load(fh)
    base = path[:-len(".json")]
    with open(base + ".pid", "w") as fh:
        fh.write(str(os.getpid()))
    while time.time() < state["deadline"]:
        if not os.path.exists(path):
            return 0  # disarmed (renamed away by kvmweb)
        time.sleep(0.1)
    try:
        os.rename(path, base + ".restoring")
    except FileNotFoundError:
        return 0  # disarmed just in time
    started = time.time()
    log, left = [], []
    for _attempt in range(3):
        restore(state, log)
        left = differences(state)
        if not left:
            break
        time.sleep(0.5)
    result = {"token": state["token"], "restored_at": started, "finished_at": time.time(),
              "ok": not left, "differences": left, "log": log}
    tmp = base + ".result.tmp"
    with open(tmp, "w") as fh:
        json.dump(result, fh, indent=1)
    os.rename(tmp, base + ".result.json")
    return 0


def main(argv):
    if len(argv) != 2 or not argv[1].endswith(".json"):
        print("usage: kvmweb_rollback.py STATE.json", file=sys.stderr)
        return 2
    if os.environ.get("KVMWEB_ROLLBACK_FOREGROUND") != "1":
        _daemonize()
    return watch(argv[1])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
