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
            "addresses": addresses.get(link["index"], []),
            "stats": {
                "rx_bytes": stats["rx_bytes"], "tx_bytes": stats["tx_bytes"],
                "rx_packets": stats["rx_packets"], "tx_packets": stats["tx_packets"],
                "rx_errors": stats["rx_errors"], "tx_errors": stats["tx_errors"],
                "rx_dropped": stats["rx_dropped"], "tx_dropped": stats["tx_dropped"],
            } if stats else {},
        })
    return result


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
