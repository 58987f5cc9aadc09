"""Functions that run ON a host (shipped there by mitogen) and read its networking with pyroute2.

They must stay importable (not __main__), take and return plain data only, and need nothing on the
host but python3: mitogen ships this module and pyroute2 over the SSH connection.
"""

_KINDS = {
    "bridge": "bridge", "bond": "bond", "vlan": "vlan", "veth": "veth", "tun": "tun/tap",
    "macvtap": "macvtap", "macvlan": "macvlan", "dummy": "dummy", "openvswitch": "ovs",
    "vxlan": "vxlan", "team": "team", "ipvlan": "ipvlan",
}


def _kind(link):
    info = link.get_attr("IFLA_LINKINFO")
    kind = info.get_attr("IFLA_INFO_KIND") if info else None
    if link["flags"] & 0x8:  # IFF_LOOPBACK
        return "loopback"
    if kind in _KINDS:
        return _KINDS[kind]
    if kind is None:
        return "physical"
    return kind


def list_interfaces():
    """Every interface of the host: kind, state, carrier, MAC, MTU, addresses, master, counters."""
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        links = list(ipr.get_links())
        addrs = list(ipr.get_addr())
        routes = _routes(ipr)
    by_index = {link["index"]: link.get_attr("IFLA_IFNAME") for link in links}
    addresses = {}
    for addr in addrs:
        family = "inet" if addr["family"] == 2 else "inet6"
        addresses.setdefault(addr["index"], []).append({
            "family": family,
            "address": addr.get_attr("IFA_ADDRESS"),
            "prefixlen": addr["prefixlen"],
            "scope": addr["scope"],
        })
    result = []
    for link in links:
        stats = link.get_attr("IFLA_STATS64") or link.get_attr("IFLA_STATS")
        master = link.get_attr("IFLA_MASTER")
        parent = link.get_attr("IFLA_LINK")
        # A veth whose peer lives in another network namespace (``eth0@if4``): IFLA_LINK is an
        # index in THAT namespace, so looking it up here would name an unrelated link.
        netnsid = link.get_attr("IFLA_LINK_NETNSID")
        if netnsid is not None:
            parent = None
        result.append({
            "index": link["index"],
            "name": link.get_attr("IFLA_IFNAME"),
            "kind": _kind(link),
            "state": (link.get_attr("IFLA_OPERSTATE") or "UNKNOWN").lower(),
            "up": bool(link["flags"] & 0x1),
            "carrier": bool(link.get_attr("IFLA_CARRIER")),
            "mac": link.get_attr("IFLA_ADDRESS") or "",
            "mtu": link.get_attr("IFLA_MTU"),
            "master": by_index.get(master, "") if master else "",
            "parent": by_index.get(parent, "") if parent and parent != link["index"] else "",
            "link_netnsid": netnsid,
            "addresses": addresses.get(link["index"], []),
            "stats": {
                "rx_bytes": stats["rx_bytes"], "tx_bytes": stats["tx_bytes"],
                "rx_packets": stats["rx_packets"], "tx_packets": stats["tx_packets"],
                "rx_errors": stats["rx_errors"], "tx_errors": stats["tx_errors"],
                "rx_dropped": stats["rx_dropped"], "tx_dropped": stats["tx_dropped"],
            } if stats else {},
        })
        result[-1]["stats"].update(_bridge_facts(link), **_max_mtu(link))
        if link["index"] in routes:
            result[-1]["stats"]["routes"] = routes[link["index"]]
    return result


_PORT_STATES = {0: "disabled", 1: "listening", 2: "learning", 3: "forwarding", 4: "blocking"}


def _bridge_facts(link):
    """Extra keys kept in the record's ``stats``: a bridge's STP settings, a port's STP state."""
    info = link.get_attr("IFLA_LINKINFO")
    facts = {}
    if not info:
        return facts
    data = info.get_attr("IFLA_INFO_DATA")
    if info.get_attr("IFLA_INFO_KIND") == "bridge" and data is not None:
        facts["stp"] = bool(data.get_attr("IFLA_BR_STP_STATE"))
        facts["forward_delay"] = (data.get_attr("IFLA_BR_FORWARD_DELAY") or 0) // 100
    slave = info.get_attr("IFLA_INFO_SLAVE_DATA")
    if info.get_attr("IFLA_INFO_SLAVE_KIND") == "bridge" and slave is not None:
        facts["port_state"] = _PORT_STATES.get(slave.get_attr("IFLA_BRPORT_STATE"), "unknown")
    return facts


def _max_mtu(link):
    value = link.get_attr("IFLA_MAX_MTU")
    return {"max_mtu": value} if value else {}


def _routes(ipr):
    """Routes of the main table we would have to move with an address (not kernel-made ones),
    by output interface index."""
    by_oif = {}
    for route in ipr.get_routes(table=254):
        if route["proto"] == 2 or route["type"] != 1:  # RTPROT_KERNEL, RTN_UNICAST
            continue
        family = "inet6" if route["family"] == 10 else "inet"
        dst = route.get_attr("RTA_DST")
        if dst and dst.startswith(("fe80:", "ff")):
            continue
        oif = route.get_attr("RTA_OIF")
        if oif is None:
            continue
        by_oif.setdefault(oif, []).append({
            "family": family,
            "dst": f"{dst}/{route['dst_len']}" if dst else "default",
            "gateway": route.get_attr("RTA_GATEWAY") or "",
            "metric": route.get_attr("RTA_PRIORITY") or 0,
        })
    return by_oif


def ip_forwarding():
    """net.ipv4.ip_forward of the host's network namespace: True when it routes."""
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        return f.read().strip() == "1"


def nft_ruleset():
    """The host's whole nftables ruleset as nft's JSON (``nft -j list ruleset``), parsed.

    Runs nft with an argument list (no shell). Returns {"nftables": [...]} or raises
    RuntimeError with nft's message."""
    import json
    import shutil
    import subprocess

    nft = shutil.which("nft") or "/usr/sbin/nft"
    proc = subprocess.run([nft, "-j", "list", "ruleset"], capture_output=True, text=True,
                          timeout=30, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"nft -j list ruleset failed: {proc.stderr.strip()[:500]}")
    return json.loads(proc.stdout or '{"nftables": []}')


# -- active probes (reachability): short, bounded, argument lists only -----------------------

def _tool(name):
    """The path of ``name`` and the arguments that start it: the host's own binary, else
    busybox's applet (hosts without iputils)."""
    import shutil

    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin:/bin")
    if found:
        return [found]
    box = shutil.which("busybox") or shutil.which("busybox", path="/usr/bin:/bin")
    if box:
        return [box, name]
    raise RuntimeError(f"neither {name} nor busybox is installed on the host")


def probe(tool, target, count=3, wait=2, iface=""):
    """Run ``ping`` or ``arping`` once on this host and return {command, returncode, output}.

    The caller (kvmweb.virt.probes) has validated every argument; they are checked again here
    because this runs as root: an IPv4 address, an interface name, small bounded numbers."""
    import ipaddress
    import re
    import subprocess

    if tool not in ("ping", "arping"):
        raise ValueError(f"unknown probe tool {tool!r}")
    target = str(ipaddress.IPv4Address(target))
    count, wait = max(1, min(int(count), 5)), max(1, min(int(wait), 5))
    if iface and not re.fullmatch(r"[A-Za-z0-9_.:@-]{1,15}", iface):
        raise ValueError(f"bad interface name {iface!r}")
    if tool == "ping":
        args = ["-c", str(count), "-W", str(wait)] + (["-I", iface] if iface else []) + [target]
    else:
        if not iface:
            raise ValueError("arping needs the interface to send on")
        args = ["-c", str(count), "-w", str(count * wait), "-I", iface, target]
    command = _tool(tool) + args
    try:
        proc = subprocess.run(command, capture_output=True, text=True, check=False,
                              timeout=count * wait + 5)
        output, code = (proc.stdout + proc.stderr), proc.returncode
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout or ""
        if isinstance(partial, bytes):
            partial = partial.decode(errors="replace")
        output, code = f"{partial}timed out after {count * wait + 5} s", -1
    return {"command": [tool] + args, "returncode": code, "output": output[-2000:]}
